// Preloaded into the npm emulators so every server they start listens on
// 127.0.0.1 only, whatever host they ask for (fauxqs hardcodes 0.0.0.0;
// kinesis-local has no host flag).
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args.length > 0 && args[0] !== null && typeof args[0] === 'object' && !Array.isArray(args[0])) {
    args[0] = Object.assign({}, args[0], { host: '127.0.0.1' });
  } else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] === 'string' || args[1] === undefined || args[1] === null) {
      args[1] = '127.0.0.1';
    } else if (typeof args[1] === 'function' || typeof args[1] === 'number') {
      args.splice(1, 0, '127.0.0.1');
    }
  }
  return listen.apply(this, args);
};
