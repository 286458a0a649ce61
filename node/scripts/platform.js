'use strict';
// napi-rs's name for the platform this Node.js runs on, as native.js and the platform packages
// (npm/<name>, bearerguard-<name>) spell it: linux-x64-gnu, linux-arm64-musl, darwin-arm64,
// win32-x64-msvc, ...

/** The napi-rs platform name of this process (`node -p "require('./scripts/platform.js')()"`). */
function platformName() {
  const { platform, arch } = process;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  if (platform !== 'linux') return `${platform}-${arch}`;
  // glibc's runtime version is in the diagnostic report; musl has none (native.js asks the same).
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  return `${platform}-${arch}-${report && !report.header?.glibcVersionRuntime ? 'musl' : 'gnu'}`;
}

module.exports = platformName;
