package testregistry

import (
	"context"

	"github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// SystemContext returns a c/image system context that reaches the registry: its CA (or no
// TLS verification for plain HTTP) and its credentials.
func (r *Registry) SystemContext() *types.SystemContext {
	sys := &types.SystemContext{DockerCertPath: r.CertDir}
	if r.CertDir == "" {
		sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	}
	if r.Username != "" {
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: r.Username, Password: r.Password}
	}
	return sys
}

// Put copies the image src (a c/image reference such as "oci-archive:testdata/x.oci.tar")
// into the registry as repo ("ns/name:tag") with c/image, accepting any signature, and
// returns the digest of the manifest stored. With all, every image of a manifest list is
// copied; else only this machine's.
func (r *Registry) Put(ctx context.Context, src, repo string, all bool) (digest.Digest, error) {
	srcRef, err := alltransports.ParseImageName(src)
	if err != nil {
		return "", errors.Wrapf(err, "putting %q", src)
	}
	destRef, err := alltransports.ParseImageName("docker://" + r.Host + "/" + repo)
	if err != nil {
		return "", errors.Wrapf(err, "putting %q as %q", src, repo)
	}
	pc, err := signature.NewPolicyContext(&signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}})
	if err != nil {
		return "", errors.Wrap(err, "creating a policy context")
	}
	defer func() { _ = pc.Destroy() }()
	sel := copy.CopySystemImage
	if all {
		sel = copy.CopyAllImages
	}
	raw, err := copy.Image(ctx, pc, destRef, srcRef, &copy.Options{DestinationCtx: r.SystemContext(), ImageListSelection: sel})
	if err != nil {
		return "", errors.Wrapf(err, "putting %q as %q", src, repo)
	}
	return manifest.Digest(raw)
}
