export * as __Pascal__ from "./__kebab__";
export { __Pascal__Routes } from "./__kebab__.routes";
export { __camel__Tasks } from "./__kebab__.tasks";
