package image

import (
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/docker/distribution/registry/api/errcode"
	"github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/types"
)

func TestIsTransient(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"500", docker.UnexpectedHTTPStatusError{StatusCode: 500}, true},
		{"503 wrapped", errors.Wrap(docker.UnexpectedHTTPStatusError{StatusCode: 503}, "fetching blob"), true},
		{"429", docker.ErrTooManyRequests, true},
		{"404 status", docker.UnexpectedHTTPStatusError{StatusCode: 404}, false},
		{"unauthorized", errcode.ErrorCodeUnauthorized.WithMessage("no"), false},
		{"manifest unknown list", errcode.Errors{errcode.ErrorCodeUnknown.WithMessage("x"), errcode.ErrorCodeDenied}, false},
		{"unavailable", errcode.Errors{errcode.ErrorCodeUnavailable}, true},
		{"cut body", fmt.Errorf("reading blob: %w", io.ErrUnexpectedEOF), true},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"permission", fmt.Errorf("open: %w", syscall.EACCES), false},
		{"digest mismatch", fmt.Errorf("blob: %w", digest.ErrDigestInvalidFormat), false},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), false},
		{"deadline over reset", fmt.Errorf("%w: %w", context.DeadlineExceeded, syscall.ECONNRESET), false},
	} {
		if got := isTransient(c.err); got != c.want {
			t.Errorf("%s: isTransient(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

func TestWithRetries(t *testing.T) {
	ctx := context.Background()
	two := uint(2)
	o := &RegistryOptions{MaxRetries: &two, RetryDelay: time.Millisecond}
	calls := 0
	err := withRetries(ctx, o, "op", func() error { calls++; return docker.UnexpectedHTTPStatusError{StatusCode: 502} })
	if err == nil || calls != 3 {
		t.Errorf("always 502: %d calls, %v; want 3 calls and the error", calls, err)
	}
	calls = 0
	err = withRetries(ctx, o, "op", func() error {
		calls++
		if calls == 1 {
			return io.ErrUnexpectedEOF
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("cut then fine: %d calls, %v; want 2 calls, nil", calls, err)
	}
	calls = 0
	err = withRetries(ctx, o, "op", func() error { calls++; return errcode.ErrorCodeDenied })
	if err == nil || calls != 1 {
		t.Errorf("denied: %d calls, %v; want 1 call and the error", calls, err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	calls = 0
	err = withRetries(canceled, &RegistryOptions{RetryDelay: time.Hour}, "op", func() error { calls++; return io.ErrUnexpectedEOF })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, io.ErrUnexpectedEOF) || calls != 1 {
		t.Errorf("canceled while waiting: %d calls, %v", calls, err)
	}
}

func TestRegistryContext(t *testing.T) {
	rt, _ := newTestRuntime(t)
	sys := rt.registryContext(&RegistryOptions{AuthFilePath: "/a.json", Username: "u", Password: "p", CertDir: "/c",
		InsecureSkipTLSVerify: types.OptionalBoolTrue})
	if sys.AuthFilePath != "/a.json" || sys.DockerAuthConfig == nil || sys.DockerAuthConfig.Password != "p" ||
		sys.DockerCertPath != "/c" || sys.DockerInsecureSkipTLSVerify != types.OptionalBoolTrue || !sys.OCIInsecureSkipTLSVerify {
		t.Errorf("registry context %+v", sys)
	}
	if rt.SystemContext().DockerAuthConfig != nil || rt.SystemContext().AuthFilePath == "/a.json" {
		t.Error("registryContext changed the Runtime's system context")
	}
	if sys := rt.registryContext(nil); sys.DockerInsecureSkipTLSVerify != types.OptionalBoolUndefined || sys.DockerAuthConfig != nil {
		t.Errorf("nil options: %+v", sys)
	}
}
