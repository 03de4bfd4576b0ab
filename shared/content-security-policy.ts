// The renderer's Content-Security-Policy, sent by both hosts that serve it (Electron's app
// scheme and the browser shell) and mirrored in renderer/index.html's meta tag.
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
