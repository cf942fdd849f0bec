// Loads the addon built by ./build.mjs for this platform (napi-rs file naming:
// meshguard.<platform>-<arch>[-gnu|-musl].node).
'use strict';

function suffix() {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const glibc = process.report?.getReport?.().header?.glibcVersionRuntime;
  return `${platform}-${arch}-${glibc ? 'gnu' : 'musl'}`;
}

module.exports = require(`./meshguard.${suffix()}.node`);
