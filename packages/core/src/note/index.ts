export * as Note from "./note";
export { NoteRoutes } from "./note.routes";
