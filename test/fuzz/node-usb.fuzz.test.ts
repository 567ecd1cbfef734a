import { describeFuzz } from './suite.js';

describeFuzz('node-usb');
