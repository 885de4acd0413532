import { expect } from 'chai';

import {
  controllerUid,
  objectKey,
  ParseError,
  parseChild,
  parseNode,
  parsePod,
  parseSession,
  splitKey,
} from '../../../../operator/kube/objects.js';

describe('API objects at the operator edge', function () {
  it('reads a fresh session without status, keeping spec as written', function () {
    const s = parseSession({
      apiVersion: 'crosstalk.dev/v1alpha1',
      kind: 'DiagnosticSession',
      metadata: { name: 'a', namespace: 'shop', uid: 'u', generation: 1, resourceVersion: '7' },
      spec: { selector: 'not even an object' },
    });
    expect(s.metadata).to.include({ name: 'a', namespace: 'shop', uid: 'u', generation: 1 });
    expect(s.spec).to.deep.equal({ selector: 'not even an object' });
    expect(s.status).to.be.undefined;
  });

  it('reads pods from watches (string times) and typed lists (Date times) alike', function () {
    const base = {
      metadata: { name: 'p', namespace: 'shop', uid: 'u', labels: { app: 'x' } },
      spec: { nodeName: 'n' },
    };
    const fromWatch = parsePod({
      ...base,
      metadata: { ...base.metadata, deletionTimestamp: '2026-11-25T12:00:00Z' },
      status: { phase: 'Running' },
    });
    const fromList = parsePod({ ...base, metadata: { ...base.metadata, creationTimestamp: new Date() } });
    expect(fromWatch).to.include({ name: 'p', nodeName: 'n', phase: 'Running', terminating: true });
    expect(fromList).to.include({ terminating: false, phase: undefined });
    expect(parsePod({ metadata: { name: 'q', namespace: 'shop' }, spec: { nodeName: '' } }).nodeName).to.be.undefined;
  });

  it('reads a NodeDiagnostic with its controller and a node with its labels', function () {
    const child = parseChild({
      metadata: {
        name: 'c',
        namespace: 'shop',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'other' },
          {
            apiVersion: 'crosstalk.dev/v1alpha1',
            kind: 'DiagnosticSession',
            name: 's',
            uid: 'owner',
            controller: true,
          },
        ],
      },
      spec: { nodeName: 'node-a' },
    });
    expect(child.nodeName).to.equal('node-a');
    expect(controllerUid(child.metadata)).to.equal('owner');
    expect(parseNode({ metadata: { name: 'node-a', labels: { disk: 'ssd' } } })).to.deep.equal({
      name: 'node-a',
      labels: { disk: 'ssd' },
    });
  });

  it('refuses objects without the fields it relies on, with a ParseError', function () {
    expect(() => parseChild({ metadata: { name: 'c' }, spec: {} })).to.throw(ParseError, /unreadable NodeDiagnostic/);
    expect(() => parsePod({ spec: {} })).to.throw(ParseError);
  });

  it('keys objects as namespace/name', function () {
    expect(objectKey({ namespace: 'shop', name: 'a' })).to.equal('shop/a');
    expect(objectKey({ name: 'node-a' })).to.equal('node-a');
    expect(splitKey('shop/a')).to.deep.equal({ namespace: 'shop', name: 'a' });
  });
});
