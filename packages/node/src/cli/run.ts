/** Executable entry: `bin/usbms.mjs` imports this. */
import { main } from './main.js';

await main();
// Everything is closed by now. Should a native handle (node-usb's hotplug
// watcher, say) still hold the event loop, do not hang the shell: exit once
// pending output had time to drain. The timer itself does not keep Node alive.
setTimeout(() => process.exit(), 2000).unref();
