// One naming scheme across the adapters: @usbms/node and @usbms/web name the same things the same way
// (listDevices, watchDevices, describeDevice, openDevice), take the same option shapes (a filter, then
// options with the `usb` object; watch options with `filter` and `includeExisting`; flat open options
// with every MscDevice option) and describe a device with the same fields. The type assertions are
// checked by `pnpm typecheck` (this file is in the root tsconfig); the run-time ones by vitest.
import type { MscDeviceOptions, MscInterfaceInfo } from '@usbms/core';
import * as node from '@usbms/node';
import * as web from '@usbms/web';
import { describe, expect, expectTypeOf, it } from 'vitest';

/** The identity fields both discovery records carry (the platform object, `device`, differs by nature). */
type SharedRecord = 'id' | 'vendorId' | 'productId' | 'serialNumber' | 'manufacturer' | 'product' | 'configurationValue';

describe('the node and web adapters use one naming scheme', () => {
  it('export the same verbs, as functions', () => {
    const nodeVerbs = [node.listDevices, node.watchDevices, node.describeDevice, node.openDevice];
    const webVerbs = [web.listDevices, web.watchDevices, web.describeDevice, web.openDevice];
    expect(nodeVerbs.map((f) => [f.name, typeof f])).toEqual(webVerbs.map((f) => [f.name, typeof f]));
    expect(nodeVerbs.map((f) => f.name)).toEqual(['listDevices', 'watchDevices', 'describeDevice', 'openDevice']);
  });

  it('describe a device with the same record fields', () => {
    expectTypeOf<Pick<web.MscDeviceInfo, SharedRecord>>().toEqualTypeOf<Pick<node.MscDeviceInfo, SharedRecord>>();
    // The interface records are @usbms/core's; @usbms/node adds what Linux says (kernel driver, block devices).
    expectTypeOf<web.MscDeviceInfo['interfaces'][number]>().toEqualTypeOf<MscInterfaceInfo>();
    expectTypeOf<web.MscInterfaceInfo>().toEqualTypeOf<MscInterfaceInfo>();
    expectTypeOf<node.MscInterfaceInfo>().toMatchTypeOf<MscInterfaceInfo>();
    expectTypeOf<Omit<node.MscInterfaceInfo, 'kernelDriver' | 'blockDevices'>>().toEqualTypeOf<Omit<MscInterfaceInfo, never>>();
    expectTypeOf<web.MscAlternateInfo>().toEqualTypeOf<node.MscAlternateInfo>();
    expectTypeOf<Awaited<ReturnType<typeof web.describeDevice>>>().toEqualTypeOf<web.MscDeviceInfo>();
    expectTypeOf<Awaited<ReturnType<typeof node.describeDevice>>>().toEqualTypeOf<node.MscDeviceInfo>();
    expectTypeOf<Awaited<ReturnType<typeof web.listDevices>>>().toEqualTypeOf<web.MscDeviceInfo[]>();
    expectTypeOf<Awaited<ReturnType<typeof node.listDevices>>>().toEqualTypeOf<node.MscDeviceInfo[]>();
  });

  it('take a filter, then options, with the same field names', () => {
    type SharedFilter = 'vendorId' | 'productId' | 'serialNumber';
    expectTypeOf<Pick<web.DeviceFilter, SharedFilter>>().toEqualTypeOf<Pick<node.DeviceFilter, SharedFilter>>();
    expectTypeOf<Parameters<typeof web.listDevices>[0]>().toEqualTypeOf<web.DeviceFilter | undefined>();
    expectTypeOf<Parameters<typeof node.listDevices>[0]>().toEqualTypeOf<node.DeviceFilter | undefined>();
    expectTypeOf<keyof web.PlatformOptions>().toEqualTypeOf<'usb'>();
    expectTypeOf<'usb'>().toMatchTypeOf<keyof node.PlatformOptions>();
    expectTypeOf<Pick<web.WatchOptions, 'filter' | 'includeExisting'>>().toEqualTypeOf<{ filter?: web.DeviceFilter; includeExisting?: boolean }>();
    expectTypeOf<Pick<node.WatchOptions, 'filter' | 'includeExisting'>>().toEqualTypeOf<{ filter?: node.DeviceFilter; includeExisting?: boolean }>();
    expectTypeOf<keyof web.WatchHandlers>().toEqualTypeOf<keyof node.WatchHandlers>();
  });

  it('open with flat options that include every MscDevice option', () => {
    expectTypeOf<web.OpenDeviceOptions>().toMatchTypeOf<MscDeviceOptions>();
    expectTypeOf<node.OpenDeviceOptions>().toMatchTypeOf<MscDeviceOptions>();
    expectTypeOf<keyof MscDeviceOptions>().toMatchTypeOf<keyof web.OpenDeviceOptions & keyof node.OpenDeviceOptions>();
  });
});
