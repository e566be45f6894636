package testregistry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/pkg/errors"
)

// certs are a CA made for one registry and a server certificate it signed, valid for the
// loopback addresses the helper binds (127.0.0.1 and 127.0.0.2) and "localhost".
type certs struct {
	// caPEM is the CA certificate, PEM-encoded: what a client must trust.
	caPEM []byte
	// pool holds the CA, for the helper's own clients (proxy, redirect target).
	pool *x509.CertPool
	// server is the server certificate with its key.
	server tls.Certificate
}

// newCerts generates a CA and a server certificate, both valid for a day.
func newCerts() (*certs, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, errors.Wrap(err, "generating CA key")
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "testregistry CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, errors.Wrap(err, "creating CA certificate")
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, errors.Wrap(err, "parsing CA certificate")
	}
	server, err := newServerCert(ca, caKey, now)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &certs{
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:   pool,
		server: server,
	}, nil
}

// newServerCert makes the server certificate for the loopback names, signed by ca.
func newServerCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, errors.Wrap(err, "generating server key")
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.2")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, errors.Wrap(err, "creating server certificate")
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// serverConfig is the TLS configuration of the helper's servers (HTTP/1.1 only: see
// newServer).
func (c *certs) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.server}, MinVersion: tls.VersionTLS12}
}

// clientConfig trusts the CA, for the helper's own clients.
func (c *certs) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: c.pool, MinVersion: tls.VersionTLS12}
}

// writeCertDir writes the CA as dir/ca.crt, the layout of a containers-certs.d(5) directory
// (and of SystemContext.DockerCertPath).
func (c *certs) writeCertDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrapf(err, "creating cert dir %q", dir)
	}
	path := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(path, c.caPEM, 0o644); err != nil {
		return errors.Wrapf(err, "writing %q", path)
	}
	return nil
}
