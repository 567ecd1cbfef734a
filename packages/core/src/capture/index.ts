export * from './decode.js';
export * from './pcap.js';
export * from './recording-transport.js';
export * from './replay.js';
export * from './transcript.js';
export * from './usbmon.js';
