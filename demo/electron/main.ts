/**
 * Electron main process for the usbms device tool (recipe; type-checked, not
 * run in CI since the Electron binary cannot be downloaded there).
 *
 *   pnpm --filter @usbms/demo build      # renderer: demo/dist
 *   npx electron demo/electron/dist/main.js   (after compiling this folder with tsc)
 *
 * The renderer is the same web tool; there `@usbms/web` claims the
 * mass-storage interface, because this process lifts Chromium's protected-class
 * rule for the app's own pages only.
 */
import { join } from 'node:path';
import { app, BrowserWindow, net, protocol, session } from 'electron';
import { createUsbmsService } from './node-main.js';
import type { UsbmsElectronPolicy } from './policy.js';
import { allowDevicePermission, allowPermissionCheck, chooseUsbDevice, isTrustedOrigin, protectedClassesWithoutMassStorage } from './policy.js';

/** The app's pages are served from app://usbms (a privileged, secure scheme), or from Vite in development. */
const DEV_URL = process.env.USBMS_DEV_URL; // e.g. http://localhost:5180
const APP_ORIGIN = 'app://usbms';
const policy: UsbmsElectronPolicy = { trustedOrigins: DEV_URL ? [APP_ORIGIN, DEV_URL] : [APP_ORIGIN] };

protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

void app.whenReady().then(async () => {
  // A partition used only by this app's windows: the protected-class handler has no origin
  // parameter, so confining it to this session keeps it away from any other web content.
  const ses = session.fromPartition('persist:usbms');
  const distDir = join(import.meta.dirname, '..', '..', 'dist');
  ses.protocol.handle('app', (request) => {
    const path = new URL(request.url).pathname;
    return net.fetch(`file://${join(distDir, path === '/' ? 'index.html' : path)}`);
  });

  ses.setUSBProtectedClassesHandler((details) => protectedClassesWithoutMassStorage(details));
  ses.setPermissionCheckHandler((_webContents, permission, requestingOrigin) => allowPermissionCheck(permission, requestingOrigin, policy) ?? false);
  ses.setDevicePermissionHandler((details) => allowDevicePermission(details, policy));
  ses.on('select-usb-device', (event, details, callback) => {
    // Electron has no chooser UI of its own: answer with a device id (or nothing to cancel).
    event.preventDefault();
    callback(chooseUsbDevice(details, policy));
  });

  // @usbms/node in this process, served to the window over a MessagePortMain (node-main.ts).
  const usbms = await createUsbmsService(policy);
  app.on('before-quit', () => void usbms.close());

  const win = new BrowserWindow({
    width: 1360,
    height: 900,
    webPreferences: { session: ses, contextIsolation: true, sandbox: true, preload: join(import.meta.dirname, 'preload.cjs') },
  });
  // Never let the window wander to a page that would inherit the relaxed USB policy.
  win.webContents.on('will-navigate', (event, url) => {
    if (!isTrustedOrigin(url, policy)) event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  // Each page load gets its own connection (a reload drops the old one: its queued commands go, its command on the wire finishes).
  win.webContents.on('did-finish-load', () => usbms.connect(win.webContents));
  void win.loadURL(DEV_URL ?? `${APP_ORIGIN}/index.html`);
});

app.on('window-all-closed', () => app.quit());
