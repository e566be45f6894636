// Package testregistry runs a real container registry (github.com/distribution/distribution/v3,
// the registry behind Docker Hub's open-source twin) in-process on loopback, for the tests of
// pull and push and for `imagectl demo`. Nothing leaves the machine.
//
// Start gives one of three flavours: plain HTTP; HTTPS with a CA and server certificate
// generated on the spot (clients trust the CA through Registry.CertDir, a
// containers-certs.d(5) directory); HTTPS with HTTP basic authentication from an htpasswd
// file (no token server). Storage is the filesystem driver, in a temp dir by default. The
// registry logs through a logger of its own, never logrus's standard logger.
//
// Registry.Stats counts what the registry served (blob uploads, fetches and checks by
// digest, manifests stored and fetched), so a test can tell that a second push uploaded
// nothing.
//
// Registry.StartProxy puts a reverse proxy in front, on loopback too, that injects faults on
// the requests a matcher selects: an error status then normal service, a body cut short, a
// stall until the client gives up, a blob whose bytes no longer match its digest, a redirect
// to a second server on 127.0.0.2 (another host name, so clients must drop the
// Authorization header), and a huge error body.
package testregistry
