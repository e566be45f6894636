package image

import (
	"context"
	stderrors "errors"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/signature/signer"
	"go.podman.io/image/v5/signature/sigstore"
	is "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// Sentinels of Push, beside ErrInvalidName (a destination that is not a reference) and
// ErrNoPolicy.
var (
	// ErrNoDestination: Push was given no destination and the image has no tagged name to
	// push to.
	ErrNoDestination = errors.New("no destination to push to")
	// ErrInvalidCompression: PushOptions.CompressionFormat is not gzip, zstd or zstd:chunked.
	ErrInvalidCompression = errors.New("invalid compression format")
)

// PushOptions tune Push. Nil means defaults: the destination's usual compression (gzip for
// registries), signatures copied as they are, no progress, and the connection defaults of
// RegistryOptions.
type PushOptions struct {
	RegistryOptions
	// CompressionFormat is "gzip", "zstd" or "zstd:chunked"; "" lets c/image choose (gzip, or
	// the compression of blobs the destination already has). When set, every layer is sent
	// in that format, never reused in another one.
	CompressionFormat string
	// CompressionLevel is the level of CompressionFormat; nil means the format's default.
	CompressionLevel *int
	// RemoveSignatures drops the signatures the image has in the store instead of copying
	// them; a signature made with SignBySigstorePrivateKeyFile is still added.
	RemoveSignatures bool
	// SignBySigstorePrivateKeyFile, if set, is a sigstore private key (as written by
	// `skopeo generate-sigstore-key` or c/image's sigstore.GenerateKeyPair) to sign the
	// pushed manifest with, for the destination's name. A registry stores the signature
	// only when its registries.d entry has `use-sigstore-attachments: true`; without it the
	// push fails.
	SignBySigstorePrivateKeyFile string
	// SignSigstorePrivateKeyPassphrase decrypts that key. It never appears in errors, logs or
	// events.
	SignSigstorePrivateKeyPassphrase []byte
	// DigestFile, if set, receives the pushed manifest's digest ("sha256:…", no newline),
	// as podman's --digestfile.
	DigestFile string
	// ReportWriter receives c/image's progress: bars when it is a terminal, lines otherwise.
	ReportWriter io.Writer
	// Progress receives c/image's progress events while blobs are copied. Push never closes
	// it, and blocks until each event is received.
	Progress chan types.ProgressProperties
}

// Push copies the image to destination and returns the digest of the manifest written there.
//
// destination may carry any c/image transport ("oci-archive:/a.tar", "dir:/d", ...); without
// one it is a docker:// reference, normalized as Docker does ("busybox" is
// docker.io/library/busybox:latest). "" means the image's most recent tagged name (an error
// wrapping ErrNoDestination when it has none). Layers are compressed as
// PushOptions.CompressionFormat says; a layer c/image's blob-info cache (under the store's
// graph root) knows the destination already has is not sent again. Transient registry
// failures (5xx, 429, connection resets, cut bodies) are retried as RegistryOptions says;
// others are not. Credentials and passphrases never appear in errors, logs or events. A
// manifest list (Image.IsManifestList) is refused with ErrManifestList.
//
// Events: a push event (the image's ID; the destination as given, or for registries its
// normalized name without "docker://") after the push succeeded and the digest file was written; on failure, a
// push-error event with the error.
func (i *Image) Push(ctx context.Context, destination string, opts *PushOptions) (digest.Digest, error) {
	var o PushOptions
	if opts != nil {
		o = *opts
	}
	r := i.runtime
	d, name, err := i.push(ctx, destination, &o)
	if err != nil {
		if name == "" {
			err = errors.Wrapf(err, "pushing image %s", i.ID())
		} else {
			err = errors.Wrapf(err, "pushing image %s to %q", i.ID(), name)
		}
		r.emit(EventPushError, i.ID(), name, err)
		return "", err
	}
	r.emit(EventPush, i.ID(), name, nil)
	return d, nil
}

// push resolves the destination, pushes and writes the digest file. It returns the
// destination's name for events and errors as soon as it is known.
func (i *Image) push(ctx context.Context, destination string, o *PushOptions) (digest.Digest, string, error) {
	if err := ctx.Err(); err != nil {
		return "", destination, err
	}
	if i.IsManifestList() {
		return "", destination, errors.Wrap(ErrManifestList, "pushing its instances with it is not supported (podman manifest push does it)")
	}
	dest, err := i.pushDestination(destination)
	if err != nil {
		return "", destination, err
	}
	name := destination
	if dest.Transport().Name() == docker.Transport.Name() {
		name = dest.DockerReference().String()
	}
	sys, err := pushContext(i.runtime.registryContext(&o.RegistryOptions), o)
	if err != nil {
		return "", name, err
	}
	d, err := i.runtime.pushImage(ctx, i.ID(), dest, sys, o)
	if err != nil {
		return "", name, err
	}
	if o.DigestFile != "" {
		if err := os.WriteFile(o.DigestFile, []byte(d.String()), 0o644); err != nil {
			return "", name, errors.Wrapf(err, "pushed as %s, but writing the digest file", d)
		}
	}
	return d, name, nil
}

// pushDestination parses destination, or takes the image's most recent tagged name when it
// is "".
func (i *Image) pushDestination(destination string) (types.ImageReference, error) {
	if destination == "" {
		tags := i.RepoTags()
		if len(tags) == 0 {
			return nil, errors.Wrap(ErrNoDestination, "the image has no tagged name: give a destination")
		}
		destination = tags[0]
	}
	ref, err := alltransports.ParseImageName(destination)
	if err == nil {
		return ref, nil
	}
	ref, derr := alltransports.ParseImageName("docker://" + destination)
	if derr != nil {
		return nil, invalidName(destination, stderrors.Join(err, derr))
	}
	return ref, nil
}

// pushContext returns sys with o's compression applied.
func pushContext(sys *types.SystemContext, o *PushOptions) (*types.SystemContext, error) {
	if o.CompressionFormat != "" {
		algo, err := compression.AlgorithmByName(o.CompressionFormat)
		if err != nil {
			return nil, errors.Wrapf(ErrInvalidCompression, "%q: use gzip, zstd or zstd:chunked", o.CompressionFormat)
		}
		sys.CompressionFormat = &algo
	}
	if o.CompressionLevel != nil {
		level := *o.CompressionLevel
		sys.CompressionLevel = &level
	}
	return sys, nil
}

// pushImage copies the stored image id to dest with retries and returns the manifest digest.
func (r *Runtime) pushImage(ctx context.Context, id string, dest types.ImageReference, sys *types.SystemContext, o *PushOptions) (d digest.Digest, retErr error) {
	if _, err := r.tmpDir(); err != nil { // c/image spools blobs there
		return "", err
	}
	src, err := is.Transport.NewStoreReference(r.store, nil, id)
	if err != nil {
		return "", errors.Wrapf(err, "creating store reference for %s", id)
	}
	signers, err := pushSigners(o)
	if err != nil {
		return "", err
	}
	defer func() {
		for _, s := range signers {
			retErr = stderrors.Join(retErr, s.Close())
		}
	}()
	pc, err := r.policyContext()
	if err != nil {
		return "", err
	}
	defer destroyPolicyContext(pc)
	opts := &copy.Options{SourceCtx: r.systemContext(), DestinationCtx: sys, ReportWriter: o.ReportWriter,
		RemoveSignatures: o.RemoveSignatures, Signers: signers, ForceCompressionFormat: o.CompressionFormat != ""}
	var raw []byte
	err = withRetries(ctx, &o.RegistryOptions, "pushing to "+transportName(dest), func() error {
		raw, err = runCopy(ctx, pc, dest, src, opts, o.Progress)
		return err
	})
	if err != nil {
		return "", err // c/image's errors name the destination
	}
	return manifest.Digest(raw)
}

// pushSigners returns the signers o asks for (none, or one sigstore signer). The caller
// closes them.
func pushSigners(o *PushOptions) ([]*signer.Signer, error) {
	if o.SignBySigstorePrivateKeyFile == "" {
		return nil, nil
	}
	passphrase := append([]byte{}, o.SignSigstorePrivateKeyPassphrase...) // c/image wants non-nil
	s, err := sigstore.NewSigner(sigstore.WithPrivateKeyFile(o.SignBySigstorePrivateKeyFile, passphrase))
	if err != nil {
		return nil, errors.Wrapf(err, "preparing to sign with %q", o.SignBySigstorePrivateKeyFile)
	}
	return []*signer.Signer{s}, nil
}
