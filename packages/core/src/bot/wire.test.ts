import { describe, expect, it } from 'vitest';
import {
  BotRequest,
  CBW_LENGTH,
  CBW_MAX_CDB_LENGTH,
  CBW_SIGNATURE,
  CbwOffset,
  CSW_LENGTH,
  CSW_SIGNATURE,
  CswOffset,
  hex4,
  MSC_CLASS,
  MscProtocol,
  MscSubclass,
} from './wire.js';
import { encodeCbw, encodeCsw } from './wrappers.js';

describe('the BOT wire layout (BOT 1.0 §5.1, §5.2)', () => {
  it('sizes: CBW 31 bytes, CSW 13 bytes, the last field ends at the end', () => {
    expect(CBW_LENGTH).toBe(31);
    expect(CSW_LENGTH).toBe(13);
    expect(CbwOffset.cdb + CBW_MAX_CDB_LENGTH).toBe(CBW_LENGTH);
    expect(CswOffset.status + 1).toBe(CSW_LENGTH);
  });

  it('offsets are the spec tables: 4-byte fields then one-byte fields, no gaps', () => {
    expect(Object.values(CbwOffset)).toEqual([0, 4, 8, 12, 13, 14, 15]);
    expect(Object.values(CswOffset)).toEqual([0, 4, 8, 12]);
  });

  it('signatures are "USBC" and "USBS" in wire order', () => {
    const cbw = encodeCbw({ tag: 1, dataTransferLength: 0, direction: 'out', lun: 0, cdb: Uint8Array.of(0) });
    expect(new TextDecoder().decode(cbw.subarray(CbwOffset.signature, CbwOffset.signature + 4))).toBe('USBC');
    const csw = encodeCsw({ signature: CSW_SIGNATURE, tag: 1, residue: 0, status: 0 });
    expect(new TextDecoder().decode(csw.subarray(CswOffset.signature, CswOffset.signature + 4))).toBe('USBS');
    expect(CBW_SIGNATURE).toBe(0x43425355);
    expect(CSW_SIGNATURE).toBe(0x53425355);
  });

  it('class requests and class codes (BOT 1.0 §3; MSC Overview 1.4 §2, §3)', () => {
    expect(BotRequest).toEqual({ Reset: 0xff, GetMaxLun: 0xfe });
    expect(MSC_CLASS).toBe(0x08);
    expect(MscSubclass.ScsiTransparent).toBe(0x06);
    expect(MscProtocol.BulkOnly).toBe(0x50);
    expect(MscProtocol.Uas).toBe(0x62);
  });

  it('hex4 formats USB IDs as 4 lowercase digits', () => {
    expect(hex4(0x781)).toBe('0781');
    expect(hex4(0xabcd)).toBe('abcd');
  });
});
