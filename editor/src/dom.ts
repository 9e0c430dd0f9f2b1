// A tiny element builder for the panels around the canvas.
type Props = Record<string, string | ((e: MouseEvent) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === "function") el.addEventListener(key.replace(/^on/, ""), value as (e: Event) => void);
    else el.setAttribute(key, value);
  }
  el.append(...children);
  return el;
}
