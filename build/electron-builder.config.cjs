// Packaging with electron-builder (`npm run dist`). It needs Electron's binary and its own tools,
// which this repository's CI machines cannot download, so it is run where they can.
module.exports = {
  appId: 'org.cleanroom.desktop',
  productName: 'Cleanroom',
  directories: { output: 'build/release', buildResources: 'build' },
  files: ['package.json', 'build/out/**', 'build/native/electron/**', '!**/*.map'],
  // Native modules cannot load from inside the asar archive.
  asarUnpack: ['**/*.node', 'node_modules/@duckdb/**'],
  npmRebuild: false,
  linux: { target: ['AppImage', 'deb'], category: 'Office' },
  mac: { target: ['dmg'], category: 'public.app-category.productivity' },
  win: { target: ['nsis'] },
};
