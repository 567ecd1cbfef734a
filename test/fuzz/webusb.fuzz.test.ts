import { describeFuzz } from './suite.js';

describeFuzz('webusb');
