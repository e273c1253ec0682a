import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BGP_STATES, calicoPeerFromName, splitBgpInfo } from './bgp.js';

describe('calicoPeerFromName', () => {
  it('decodes the names Calico generates (node/pkg/status/populators/peers.go)', () => {
    expect(calicoPeerFromName('Mesh_172_17_8_102')).toEqual({ type: 'node-to-node mesh', ip: '172.17.8.102' });
    expect(calicoPeerFromName('Global_172_17_8_103')).toEqual({ type: 'global', ip: '172.17.8.103' });
    expect(calicoPeerFromName('Node_172_17_8_104')).toEqual({ type: 'node specific', ip: '172.17.8.104' });
    expect(calicoPeerFromName('Mesh_fd80_24e2_f998_72d7__2')).toEqual({ type: 'node-to-node mesh', ip: 'fd80:24e2:f998:72d7::2' });
    expect(calicoPeerFromName('Mesh_fd00_10__12')).toEqual({ type: 'node-to-node mesh', ip: 'fd00:10::12' });
    expect(calicoPeerFromName('Global_10_0_0_1_port_8179')).toEqual({ type: 'global', ip: '10.0.0.1', port: 8179 });
  });

  it('ignores other protocols', () => {
    for (const n of ['kernel1', 'static1', 'direct1', 'Mesh', 'Mesh_', 'bgp1']) expect(calicoPeerFromName(n)).toBeUndefined();
  });

  it('round-trips any IPv4 address through Calico encoding', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(calicoPeerFromName(`Mesh_${ip.replace(/\./g, '_')}`)?.ip).toBe(ip);
      }),
    );
  });

  it('round-trips IPv6 addresses through Calico encoding', () => {
    fc.assert(
      fc.property(fc.ipV6().filter((ip) => !ip.includes('.')), (ip) => {
        expect(calicoPeerFromName(`Node_${ip.replace(/:/g, '_')}`)?.ip).toBe(ip);
      }),
    );
  });
});

describe('splitBgpInfo', () => {
  it('splits state and error', () => {
    expect(splitBgpInfo('Established')).toEqual({ bgpState: 'Established' });
    expect(splitBgpInfo('Active Socket: Connection refused')).toEqual({ bgpState: 'Active', lastError: 'Socket: Connection refused' });
    expect(splitBgpInfo('  ')).toEqual({});
    expect(BGP_STATES).toContain('OpenConfirm');
  });
});
