// build/build.mjs replaces __CLEANROOM_VERSION__ with package.json's version; under tsx (tests)
// it is absent and the development marker is used.
declare const __CLEANROOM_VERSION__: string | undefined;

export const appVersion: string = typeof __CLEANROOM_VERSION__ === 'string' ? __CLEANROOM_VERSION__ : '0.0.0-dev';
