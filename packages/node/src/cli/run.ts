/** Executable entry: `bin/usbms.mjs` imports this. */
import { main } from './main.js';

await main();
