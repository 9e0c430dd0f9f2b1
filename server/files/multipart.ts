// Just enough multipart/form-data for uploads from a browser form: the first part that carries
// a file. The body is already in memory (the upload size limit applies before parsing).
export interface FilePart {
  filename: string;
  bytes: Buffer;
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2])!.trim() : undefined; // a match took one branch of the alternation: quoted or bare
}

/** The first part with a filename; throws a readable error when the body has none. */
export function firstFilePart(body: Buffer, boundary: string): FilePart {
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break; // closing delimiter
    const headerEnd = body.indexOf("\r\n\r\n", start);
    if (headerEnd < 0) break;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd);
    if (next < 0) break;
    const headers = body.subarray(start, headerEnd).toString("utf8");
    const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? "";
    const filename = /filename\*?=(?:"([^"]*)"|([^;\r\n]*))/i.exec(disposition);
    if (filename) return { filename: (filename[1] ?? filename[2] ?? "").trim(), bytes: body.subarray(headerEnd + 4, next) };
    pos = next + 2;
  }
  throw new Error("multipart upload has no file part (expected a form field with a filename)");
}
