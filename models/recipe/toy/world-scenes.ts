// The world's base scenes (pretraining split) as the toy trainers' scene source.
import { baseScene } from "../../world/scenes.js";
import { TOY_RESOLUTION } from "./config.js";
import type { SceneSource } from "./scenes.js";

export const worldBaseScenes: SceneSource = (index) => baseScene(index, TOY_RESOLUTION);
