package image

import (
	"context"
	stderrors "errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/types"
)

// RegistryOptions are the connection settings that Pull and Push share. The zero value uses
// the Runtime's SystemContext as it is: its auth file, cert dirs and registries.conf, TLS
// verification on, and the default retries.
type RegistryOptions struct {
	// AuthFilePath is the auth.json to read credentials from; "" means the Runtime's
	// SystemContext.AuthFilePath, else c/image's default search (as podman).
	AuthFilePath string
	// Username and Password, when Username is set, are used instead of the auth file. They
	// never appear in errors, logs or events.
	Username, Password string
	// CertDir is a directory of certificates (ca.crt, client cert and key) trusted for every
	// registry of the call, as containers-certs.d(5) describes; "" means the per-registry
	// dirs under /etc/containers/certs.d.
	CertDir string
	// InsecureSkipTLSVerify turns TLS verification (and the HTTPS requirement) off with
	// types.OptionalBoolTrue. Undefined, the default, verifies unless registries.conf marks
	// the registry insecure; types.OptionalBoolFalse verifies even then.
	InsecureSkipTLSVerify types.OptionalBool
	// MaxRetries is how many times a transient failure (a 5xx answer, 429, a connection
	// reset or refused, a body cut short) is retried; nil means 3, 0 means none. Other
	// failures (4xx, digest mismatches, policy refusals, canceled contexts) never are.
	MaxRetries *uint
	// RetryDelay is the wait before the first retry, doubled before each next one; 0 means
	// one second.
	RetryDelay time.Duration
}

const (
	defaultMaxRetries = 3
	defaultRetryDelay = time.Second
)

// registryContext returns a fresh system context for one pull or push, with the call's
// connection settings applied over the Runtime's.
func (r *Runtime) registryContext(o *RegistryOptions) *types.SystemContext {
	sys := r.systemContext()
	if o == nil {
		return sys
	}
	if o.AuthFilePath != "" {
		sys.AuthFilePath = o.AuthFilePath
	}
	if o.Username != "" {
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: o.Username, Password: o.Password}
	}
	if o.CertDir != "" {
		sys.DockerCertPath = o.CertDir
	}
	if o.InsecureSkipTLSVerify != types.OptionalBoolUndefined {
		sys.DockerInsecureSkipTLSVerify = o.InsecureSkipTLSVerify
		sys.OCIInsecureSkipTLSVerify = o.InsecureSkipTLSVerify == types.OptionalBoolTrue
	}
	return sys
}

// withRetries runs op, and again after a growing delay while it fails with a transient error,
// at most o.MaxRetries more times. what names the operation in the debug log. A canceled ctx
// ends the waiting with ctx's error joined to op's last one.
func withRetries(ctx context.Context, o *RegistryOptions, what string, op func() error) error {
	retries, delay := uint(defaultMaxRetries), defaultRetryDelay
	if o != nil && o.MaxRetries != nil {
		retries = *o.MaxRetries
	}
	if o != nil && o.RetryDelay > 0 {
		delay = o.RetryDelay
	}
	for attempt := uint(0); ; attempt++ {
		err := op()
		if err == nil || attempt >= retries || !isTransient(err) {
			return err
		}
		logrus.Debugf("%s failed (attempt %d of %d), retrying in %s: %v", what, attempt+1, retries+1, delay, err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return stderrors.Join(err, ctx.Err())
		case <-t.C:
		}
		delay *= 2
	}
}

// isTransient reports whether err is worth retrying: the registry answered 5xx or 429, or the
// connection failed or was cut (as podman's retry package judges). 4xx answers, digest
// mismatches, signature refusals and canceled or expired contexts are final.
func isTransient(err error) bool {
	if err == nil || stderrors.Is(err, context.Canceled) || stderrors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var status docker.UnexpectedHTTPStatusError
	if stderrors.As(err, &status) {
		return status.StatusCode >= 500 || status.StatusCode == 429
	}
	if stderrors.Is(err, docker.ErrTooManyRequests) {
		return true
	}
	var codes errcode.Errors
	if stderrors.As(err, &codes) {
		for _, e := range codes {
			if !isTransient(e) {
				return false
			}
		}
		return len(codes) > 0
	}
	var code errcode.Error
	if stderrors.As(err, &code) {
		return transientCode(code.Code)
	}
	var bare errcode.ErrorCode
	if stderrors.As(err, &bare) {
		return transientCode(bare)
	}
	if stderrors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var errno syscall.Errno
	if stderrors.As(err, &errno) {
		switch errno {
		case syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
			syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN,
			syscall.EAGAIN, syscall.EINTR:
			return true
		}
		return false
	}
	var opErr *net.OpError
	return stderrors.As(err, &opErr)
}

// transientCode reports whether a registry error code says "try again later".
func transientCode(c errcode.ErrorCode) bool {
	return c == errcode.ErrorCodeTooManyRequests || c == errcode.ErrorCodeUnavailable
}
