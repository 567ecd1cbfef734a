import { describe, expect, it } from 'vitest';
import { BUILTIN_QUIRK_RULES, defaultQuirks, describeQuirkRule, matchQuirks, type QuirkRule, quirkRuleMatches, resolveQuirks } from './quirks.js';

describe('resolveQuirks', () => {
  it('a SCSI transparent device with unknown IDs gets no quirks', () => {
    expect(resolveQuirks({ vendorId: 0x1234, productId: 0x5678, interfaceSubclass: 0x06 })).toEqual(defaultQuirks());
    expect(resolveQuirks({})).toEqual(defaultQuirks());
  });

  it.each([0x02, 0x04, 0x05])('subclass %i pads CDBs to 12 bytes and avoids 6-byte commands', (subclass) => {
    const q = resolveQuirks({ interfaceSubclass: subclass });
    expect(q.padCdbTo12).toBe(true);
    expect(q.avoid6ByteCommands).toBe(true);
  });

  it('matches by VID/PID inside the bcdDevice range', () => {
    const q = resolveQuirks({ vendorId: 0x1e74, productId: 0x4621, bcdDevice: 0x0000 });
    expect(q.ignoreTag).toBe(true);
    expect(q.maxTransferBytes).toBe(32768);
  });

  it('does not match outside the bcdDevice range', () => {
    expect(resolveQuirks({ vendorId: 0x055d, productId: 0x2020, bcdDevice: 0x0211 }).singleLun).toBe(false);
    expect(resolveQuirks({ vendorId: 0x055d, productId: 0x2020, bcdDevice: 0x0210 }).singleLun).toBe(true);
    expect(resolveQuirks({ vendorId: 0x055d, productId: 0x2020, bcdDevice: 0x0000 }).singleLun).toBe(true);
  });

  it('ignores the range when the platform does not report bcdDevice', () => {
    expect(resolveQuirks({ vendorId: 0x054c, productId: 0x02a5 }).noReadCapacity16).toBe(true);
  });

  it('needs both VID and PID when the rule names both', () => {
    expect(resolveQuirks({ vendorId: 0x054c }).noReadCapacity16).toBe(false);
    expect(resolveQuirks({ productId: 0x02a5 }).noReadCapacity16).toBe(false);
  });

  it('matches INQUIRY vendor and product (scsi_devinfo.c: vendor exact, product a prefix), ignoring padding', () => {
    expect(resolveQuirks({ inquiryVendor: 'BROWNIE ', inquiryProduct: '1200U3P         ', inquiryRevision: '1.00' }).noReportLuns).toBe(true);
    expect(resolveQuirks({ inquiryVendor: 'Marvell ', inquiryProduct: 'Console v2' }).noVpdPages).toBe(true);
    expect(resolveQuirks({ inquiryVendor: 'BROWNIE', inquiryProduct: 'X1200U3P' }).noReportLuns).toBe(false);
    expect(resolveQuirks({ inquiryVendor: 'BROWNIE' }).noReportLuns).toBe(false);
  });

  it('user rules can match the INQUIRY revision', () => {
    const rules: QuirkRule[] = [{ inquiryVendor: 'Generic', inquiryProduct: 'USB SD Reader', inquiryRevision: '1.00', quirks: { noVpdPages: true } }];
    expect(resolveQuirks({ inquiryVendor: 'Generic ', inquiryProduct: 'USB SD Reader   ', inquiryRevision: '1.00' }, rules).noVpdPages).toBe(true);
    expect(resolveQuirks({ inquiryVendor: 'Generic', inquiryProduct: 'USB SD Reader', inquiryRevision: '1.01' }, rules).noVpdPages).toBe(false);
    expect(resolveQuirks({ inquiryVendor: 'Generic', inquiryProduct: 'USB SD Reader' }, rules).noVpdPages).toBe(false);
  });

  it('every built-in rule has criteria, a description and a source naming the Linux release', () => {
    for (const rule of BUILTIN_QUIRK_RULES) {
      expect(rule.description, JSON.stringify(rule)).toBeTruthy();
      if (rule.interfaceSubclass === undefined) expect(rule.source, rule.description).toMatch(/^Linux \d+\.\d+\.\d+ (unusual_devs\.h|scsi_devinfo\.c): /);
    }
    expect(BUILTIN_QUIRK_RULES.length).toBeGreaterThan(150);
  });

  it('matchQuirks names the matching rules in the order applied', () => {
    const { rules, quirks } = matchQuirks({ vendorId: 0x1e74, productId: 0x4621, bcdDevice: 0 });
    expect(rules.map((r) => r.description)).toEqual(['Coby Electronics MP3 Player']);
    expect(quirks.ignoreTag).toBe(true);
    expect(describeQuirkRule(rules[0] as QuirkRule)).toBe(
      'Coby Electronics MP3 Player [1e74:4621, bcdDevice 0000-0000] -> ignoreTag, maxTransferBytes=32768 (Linux 6.1.192 unusual_devs.h: US_FL_BULK_IGNORE_TAG | US_FL_MAX_SECTORS_64)',
    );
  });

  it('user rules extend the table and win over it', () => {
    const rules: QuirkRule[] = [
      { vendorId: 0x1e74, productId: 0x4621, quirks: { ignoreTag: false, noSynchronizeCache: true } },
      { inquiryVendor: /^acme/i, inquiryProduct: /stick/i, quirks: { noVpdPages: true, maxTransferBytes: 65536 } },
    ];
    const coby = resolveQuirks({ vendorId: 0x1e74, productId: 0x4621 }, rules);
    expect(coby.ignoreTag).toBe(false);
    expect(coby.noSynchronizeCache).toBe(true);
    expect(coby.maxTransferBytes).toBe(32768);
    const acme = resolveQuirks({ inquiryVendor: 'ACME    ', inquiryProduct: 'Super Stick 3000' }, rules);
    expect(acme.noVpdPages).toBe(true);
    expect(acme.maxTransferBytes).toBe(65536);
  });

  it('a global RegExp matches the same way every time', () => {
    const rules: QuirkRule[] = [{ inquiryVendor: /acme/g, quirks: { fixCapacity: true } }];
    for (let i = 0; i < 3; i++) expect(resolveQuirks({ inquiryVendor: 'acme' }, rules).fixCapacity).toBe(true);
  });

  it('skips undefined and invalid values in a rule', () => {
    const q = resolveQuirks({ vendorId: 1 }, [{ vendorId: 1, quirks: { maxTransferBytes: -5, ignoreResidue: true } }]);
    expect(q.maxTransferBytes).toBeUndefined();
    expect(q.ignoreResidue).toBe(true);
    expect('maxTransferBytes' in q).toBe(false);
  });

  it('returns a fresh object each time', () => {
    const a = resolveQuirks({});
    a.ignoreTag = true;
    expect(resolveQuirks({}).ignoreTag).toBe(false);
  });
});

describe('quirkRuleMatches', () => {
  it('a rule with no criteria matches nothing', () => {
    expect(quirkRuleMatches({ quirks: { ignoreTag: true } }, { vendorId: 1, productId: 2 })).toBe(false);
  });

  it('a text criterion does not match a device whose INQUIRY is not known yet', () => {
    expect(quirkRuleMatches({ inquiryVendor: 'Generic', quirks: {} }, { vendorId: 1 })).toBe(false);
  });

  it('every built-in rule has criteria, a description and at least one flag', () => {
    for (const rule of BUILTIN_QUIRK_RULES) {
      expect(rule.description).toBeTruthy();
      expect(Object.keys(rule.quirks).length).toBeGreaterThan(0);
      const { quirks: _q, description: _d, ...criteria } = rule;
      expect(Object.keys(criteria).length).toBeGreaterThan(0);
    }
  });
});
