import { describeFuzz } from './suite.js';

describeFuzz('usbfs');
