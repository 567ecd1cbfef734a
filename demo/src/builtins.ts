/**
 * Built-in commands of the console. CDBs are written out in hex on purpose:
 * the console teaches what goes on the wire (SPC-4 / SBC-3 layouts).
 */
export interface BuiltinCommand {
  name: string;
  cdb: string;
  direction: 'none' | 'in' | 'out';
  length?: number;
  data?: string;
  note: string;
}

export const BUILTIN_COMMANDS: readonly BuiltinCommand[] = [
  { name: 'TEST UNIT READY', cdb: '00 00 00 00 00 00', direction: 'none', note: 'SPC-4 §6.47: is the medium ready?' },
  { name: 'REQUEST SENSE', cdb: '03 00 00 00 12 00', direction: 'in', length: 18, note: 'SPC-4 §6.39: fixed-format sense, 18 bytes' },
  { name: 'INQUIRY', cdb: '12 00 00 00 24 00', direction: 'in', length: 36, note: 'SPC-4 §6.6: standard data, 36 bytes' },
  { name: 'INQUIRY VPD 0x00 (supported pages)', cdb: '12 01 00 00 fc 00', direction: 'in', length: 252, note: 'EVPD=1, page 0x00' },
  { name: 'INQUIRY VPD 0x80 (serial number)', cdb: '12 01 80 00 fc 00', direction: 'in', length: 252, note: 'EVPD=1, page 0x80' },
  { name: 'INQUIRY VPD 0x83 (device identification)', cdb: '12 01 83 00 fc 00', direction: 'in', length: 252, note: 'EVPD=1, page 0x83' },
  { name: 'READ CAPACITY(10)', cdb: '25 00 00 00 00 00 00 00 00 00', direction: 'in', length: 8, note: 'SBC-3 §5.15: last LBA and block length' },
  { name: 'READ CAPACITY(16)', cdb: '9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00', direction: 'in', length: 32, note: 'SBC-3 §5.16 (SERVICE ACTION IN)' },
  { name: 'READ(10) LBA 0, 1 block', cdb: '28 00 00 00 00 00 00 00 01 00', direction: 'in', length: 512, note: 'SBC-3 §5.11; length assumes 512-byte blocks' },
  { name: 'MODE SENSE(6) all pages', cdb: '1a 00 3f 00 c0 00', direction: 'in', length: 192, note: 'SPC-4 §6.11: WP bit in the header' },
  { name: 'READ FORMAT CAPACITIES', cdb: '23 00 00 00 00 00 00 00 fc 00', direction: 'in', length: 252, note: 'MMC/UFI: what most USB sticks answer' },
  { name: 'REPORT LUNS', cdb: 'a0 00 00 00 00 00 00 00 01 00 00 00', direction: 'in', length: 256, note: 'SPC-4 §6.33' },
  { name: 'SYNCHRONIZE CACHE(10)', cdb: '35 00 00 00 00 00 00 00 00 00', direction: 'none', note: 'SBC-3 §5.22: flush the write cache' },
  { name: 'PREVENT MEDIUM REMOVAL', cdb: '1e 00 00 00 01 00', direction: 'none', note: 'SPC-4 §6.13' },
  { name: 'ALLOW MEDIUM REMOVAL', cdb: '1e 00 00 00 00 00', direction: 'none', note: 'SPC-4 §6.13' },
  { name: 'Vendor C0: read firmware version', cdb: 'c0 00 00 00 20 00', direction: 'in', length: 32, note: "The simulator's vendor command (IN)" },
  {
    name: 'Vendor C1: write config page',
    cdb: 'c1 00 00 00 08 00',
    direction: 'out',
    data: '55 53 42 4d 53 21 00 01',
    note: "The simulator's vendor command (OUT); read it back with C2",
  },
  { name: 'Vendor C2: read config page', cdb: 'c2 00 00 00 08 00', direction: 'in', length: 8, note: 'Returns what C1 stored' },
];
