// The tool runs in browsers: the root type-check (Node types, no DOM) needs the DOM library for these files.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference types="vite/client" />
