package image

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/pkg/shortnames"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	is "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
	"golang.org/x/sync/singleflight"
)

// Sentinels of Pull, beside ErrImageUnknown (PullNever and nothing local), ErrAmbiguous (an
// ambiguous short name in enforcing mode) and ErrInvalidName.
var (
	// ErrPlatformUnknown: the manifest list or index at the source has no image for the
	// platform asked for (PullOptions.Platform, else this machine's).
	ErrPlatformUnknown = errors.New("no image for the platform")
	// ErrInvalidPullPolicy: a PullPolicy that is not one of the constants, or a string
	// ParsePullPolicy does not know.
	ErrInvalidPullPolicy = errors.New("invalid pull policy")
	// ErrAllTags: PullOptions.AllTags with a name that has a tag or a digest, or with a
	// transport other than docker://.
	ErrAllTags = errors.New("all tags cannot be pulled for this name")
)

// PullPolicy says when Pull goes to the source.
type PullPolicy int

// The pull policies, as podman's --pull.
const (
	// PullAlways pulls even when the image is in the store.
	PullAlways PullPolicy = iota + 1
	// PullMissing pulls only when no local image matches the name (podman's default).
	PullMissing
	// PullNewer pulls when no local image matches, or when the manifest digest at the
	// source differs from every digest the local image records.
	PullNewer
	// PullNever never pulls: the local image, or an error wrapping ErrImageUnknown.
	PullNever
)

var pullPolicyNames = map[PullPolicy]string{
	PullAlways: "always", PullMissing: "missing", PullNewer: "newer", PullNever: "never",
}

// String returns the policy as podman spells it ("always", "missing", "newer", "never"), or
// "unknown".
func (p PullPolicy) String() string {
	if s, ok := pullPolicyNames[p]; ok {
		return s
	}
	return "unknown"
}

// ParsePullPolicy reads a policy as podman's --pull does: "always", "missing" (also
// "ifmissing", "ifnotpresent"), "newer" (also "ifnewer") and "never", in any case. Anything
// else is an error wrapping ErrInvalidPullPolicy that quotes s.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch strings.ToLower(s) {
	case "always":
		return PullAlways, nil
	case "missing", "ifmissing", "ifnotpresent":
		return PullMissing, nil
	case "newer", "ifnewer":
		return PullNewer, nil
	case "never":
		return PullNever, nil
	}
	return 0, errors.Wrapf(ErrInvalidPullPolicy, "%q: use always, missing, newer or never", s)
}

// Platform selects an image from a manifest list. Empty fields mean this machine's, as
// c/image's SystemContext OSChoice, ArchitectureChoice and VariantChoice.
type Platform struct {
	OS, Architecture, Variant string
}

// String returns "os/arch[/variant]", with this machine's values for empty fields.
func (p Platform) String() string {
	os, arch := p.OS, p.Architecture
	if os == "" {
		os = runtime.GOOS
	}
	if arch == "" {
		arch = runtime.GOARCH
	}
	if p.Variant == "" {
		return os + "/" + arch
	}
	return os + "/" + arch + "/" + p.Variant
}

// PullOptions tune Pull. Nil means defaults: this machine's platform, one tag, no progress,
// and the connection defaults of RegistryOptions.
type PullOptions struct {
	RegistryOptions
	// Platform chooses the image of a manifest list.
	Platform Platform
	// AllTags pulls every tag of the repository (docker:// only; the name must have
	// neither tag nor digest).
	AllTags bool
	// ReportWriter receives c/image's progress: bars when it is a terminal, lines otherwise.
	ReportWriter io.Writer
	// Progress receives c/image's progress events while images are copied. Pull never
	// closes it, and blocks until each event is received.
	Progress chan types.ProgressProperties
}

// Pull makes the image that name refers to available in the store, according to policy,
// and returns it (every tag's image with AllTags, in the registry's order).
//
// name may carry any c/image transport ("oci-archive:/a.tar", "dir:/d", ...); without one it
// is a docker:// reference. For docker://, a short name is resolved with c/image's
// short-name rules and the Runtime's registries.conf: its alias if it has one, else each
// unqualified-search registry in order, trying the next one when a candidate fails (the
// errors of all are returned if none succeeds). The library never prompts: in enforcing
// short-name mode, a short name with several candidates and no alias fails wrapping
// ErrAmbiguous and lists them. A pull by digest stores the name "repo@sha256:…", by tag
// "repo:tag". Other transports always copy (the policy only applies to registries) and name
// the image by the reference's docker name when it has one; a whole docker-archive,
// oci-archive or OCI layout of one image gets the names Load would give it (as podman names
// it from the archive); else the image is unnamed.
//
// A docker:// name is checked before anything is looked up or asked: a name Tag would refuse
// (uppercase, an ID or digest alone, a 64-hex repository, ...) is ErrInvalidName.
//
// Policies: PullMissing and PullNewer first look the name up as LookupImage does (an image
// of another platform than Platform asks for counts as missing; a name that is an ambiguous
// ID prefix fails wrapping ErrAmbiguous, as podman's does); PullNewer then asks the
// registry for the manifest digest of the image it would pull and pulls only when it
// differs from every digest of the local image; PullNever returns the local image or an
// error wrapping ErrImageUnknown.
//
// A manifest list without an image for the platform fails wrapping ErrPlatformUnknown,
// naming the platform. The signature policy of the Runtime is enforced. Transient registry
// failures (5xx, 429, connection resets, cut bodies) are retried as RegistryOptions says;
// others are not. A failed or canceled pull leaves the store as it was and no temp files.
// Credentials never appear in errors, logs or events.
//
// Events: one pull event per image pulled (none when the local image was used: nothing
// changed), after it is stored; on failure, one pull-error event with the error and name.
func (r *Runtime) Pull(ctx context.Context, name string, policy PullPolicy, opts *PullOptions) ([]*Image, error) {
	var o PullOptions
	if opts != nil {
		o = *opts
	}
	images, err := r.pull(ctx, name, policy, &o)
	if err != nil {
		err = errors.Wrapf(err, "pulling %q", name)
		r.emit(EventPullError, "", name, err)
		return nil, err
	}
	return images, nil
}

// pull validates the call and hands it to the worker of its transport.
func (r *Runtime) pull(ctx context.Context, name string, policy PullPolicy, o *PullOptions) ([]*Image, error) {
	if _, ok := pullPolicyNames[policy]; !ok {
		return nil, errors.Wrapf(ErrInvalidPullPolicy, "policy %d", int(policy))
	}
	if name == "" {
		return nil, errors.Wrap(ErrInvalidName, "empty name")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := r.tmpDir(); err != nil {
		return nil, err
	}
	sys := r.pullContext(o)
	ref, err := alltransports.ParseImageName(name)
	if err != nil || ref.Transport().Name() == docker.Transport.Name() {
		dockerName, err := dockerPullName(name, err)
		if err != nil {
			return nil, err
		}
		if o.AllTags {
			return r.pullAllTags(ctx, dockerName, policy, sys, o)
		}
		img, err := r.pullFromRegistry(ctx, dockerName, policy, sys, o)
		if err != nil {
			return nil, err
		}
		return []*Image{img}, nil
	}
	if o.AllTags {
		return nil, errors.Wrapf(ErrAllTags, "transport %q", ref.Transport().Name())
	}
	img, err := r.pullOther(ctx, ref, sys, o)
	if err != nil {
		return nil, err
	}
	return []*Image{img}, nil
}

// dockerPullName checks a docker:// name before anything is looked up or asked: without the
// transport it must be a name NormalizeName accepts (no ID or digest alone, a lowercase
// repository that is not 64 hex digits, ...), and with it (docker://NAME) NAME must be. It
// returns the name to pull: NAME normalized (docker.io) for docker://NAME, which is never
// searched, else name as it is, for short-name resolution. parseErr is what c/image's
// alltransports said of name (nil: a docker:// reference); its error is the one reported
// for a name with another transport's prefix.
func dockerPullName(name string, parseErr error) (string, error) {
	bare := name
	if parseErr == nil {
		bare = strings.TrimPrefix(strings.TrimPrefix(name, docker.Transport.Name()+":"), "//")
	}
	if _, err := NormalizeName(bare); err != nil {
		if t, _, ok := strings.Cut(name, ":"); ok && parseErr != nil && transports.Get(t) != nil {
			return "", invalidName(name, parseErr)
		}
		return "", err
	}
	named, err := reference.ParseNormalizedNamed(bare)
	if err != nil {
		return "", invalidName(name, err)
	}
	if parseErr == nil {
		return named.String(), nil
	}
	return name, nil
}

// pullContext is the system context of the source: the registry settings and the platform.
func (r *Runtime) pullContext(o *PullOptions) *types.SystemContext {
	sys := r.registryContext(&o.RegistryOptions)
	if o.Platform.OS != "" {
		sys.OSChoice = o.Platform.OS
	}
	if o.Platform.Architecture != "" {
		sys.ArchitectureChoice = o.Platform.Architecture
	}
	if o.Platform.Variant != "" {
		sys.VariantChoice = o.Platform.Variant
	}
	return sys
}

// pullFromRegistry pulls one docker:// name (short or qualified) according to policy.
func (r *Runtime) pullFromRegistry(ctx context.Context, name string, policy PullPolicy, sys *types.SystemContext, o *PullOptions) (*Image, error) {
	var local *Image
	if policy != PullAlways {
		var err error
		if local, err = r.localForPull(ctx, name, o.Platform); err != nil {
			return nil, err
		}
	}
	switch {
	case local != nil && policy != PullNewer:
		return local, nil
	case local == nil && policy == PullNever:
		return nil, errors.Wrap(ErrImageUnknown, "policy never and no local image")
	}
	candidates, err := resolveShortName(sys, name)
	if err != nil {
		return nil, err
	}
	var errs []error
	for k := range candidates.PullCandidates {
		c := &candidates.PullCandidates[k]
		img, err := r.pullCandidate(ctx, c.Value, local, sys, o)
		if err == nil {
			if err := c.Record(); err != nil {
				logrus.Debugf("recording short-name alias for %q: %v", name, err)
			}
			return img, nil
		}
		if ctx.Err() != nil || len(candidates.PullCandidates) == 1 {
			return nil, err
		}
		logrus.Debugf("pulling candidate %s of %q: %v", c.Value, name, err)
		errs = append(errs, err)
	}
	return nil, candidates.FormatPullErrors(errs)
}

// localForPull returns the local image name refers to, or nil when there is none or when it
// is for another platform than p. An invalid or ambiguous name is an error.
func (r *Runtime) localForPull(ctx context.Context, name string, p Platform) (*Image, error) {
	img, _, err := r.LookupImage(name, nil)
	switch {
	case errors.Is(err, ErrImageUnknown):
		return nil, nil
	case errors.Is(err, ErrInvalidName), errors.Is(err, ErrAmbiguous):
		return nil, err
	case err != nil:
		logrus.Debugf("looking up %q before pulling: %v", name, err)
		return nil, nil
	}
	if p == (Platform{}) {
		return img, nil
	}
	config, err := img.Config(ctx)
	if err != nil {
		return nil, err
	}
	want := Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
	have := Platform{OS: config.OS, Architecture: config.Architecture, Variant: config.Variant}
	if (want.OS != "" && want.OS != have.OS) || (want.Architecture != "" && want.Architecture != have.Architecture) ||
		(want.Variant != "" && want.Variant != have.Variant) {
		logrus.Debugf("local image %s of %q is %s, not %s", img.ID(), name, have, want)
		return nil, nil
	}
	return img, nil
}

// resolveShortName returns the names to try for name. c/image's resolver prompts when stdin
// and stdout are terminals: it is asked in "disabled" mode, which resolves aliases and
// search registries the same way without prompting, and enforcing mode is applied here.
func resolveShortName(sys *types.SystemContext, name string) (*shortnames.Resolved, error) {
	mode, err := sysregistriesv2.GetShortNameMode(sys)
	if err != nil {
		return nil, errors.Wrap(err, "reading the short-name mode")
	}
	quiet := *sys
	disabled := types.ShortNameModeDisabled
	quiet.ShortNameMode = &disabled
	resolved, err := shortnames.Resolve(&quiet, name)
	if err != nil {
		return nil, errors.Wrap(err, "resolving the short name")
	}
	if mode == types.ShortNameModeEnforcing && len(resolved.PullCandidates) > 1 {
		names := make([]string, len(resolved.PullCandidates))
		for k, c := range resolved.PullCandidates {
			names[k] = c.Value.String()
		}
		return nil, errors.Wrapf(ErrAmbiguous, "short-name mode is enforcing and no terminal to choose among %s: use a fully qualified name or add an alias to registries.conf",
			strings.Join(names, ", "))
	}
	return resolved, nil
}

// pullCandidate pulls one qualified name, unless policy newer finds local up to date.
func (r *Runtime) pullCandidate(ctx context.Context, named reference.Named, local *Image, sys *types.SystemContext, o *PullOptions) (*Image, error) {
	named, err := dropTagIfDigested(named)
	if err != nil {
		return nil, err
	}
	src, err := docker.NewReference(named)
	if err != nil {
		return nil, errors.Wrapf(err, "reference %s", named)
	}
	var remote digest.Digest
	err = withRetries(ctx, &o.RegistryOptions, "reading manifest of "+named.String(), func() error {
		remote, err = remoteDigest(ctx, sys, src, o.Platform)
		return err
	})
	if err != nil {
		return nil, err // c/image's errors name the reference
	}
	if local != nil && hasDigest(local, remote.String()) {
		logrus.Debugf("local image %s of %s is up to date (%s)", local.ID(), named, remote)
		return local, nil
	}
	return r.copyToStore(ctx, src, named, sys, o)
}

// remoteDigest returns the digest of the manifest that a pull of ref copies: the instance
// of p when ref is a manifest list.
func remoteDigest(ctx context.Context, sys *types.SystemContext, ref types.ImageReference, p Platform) (d digest.Digest, retErr error) {
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return "", err
	}
	defer func() { retErr = stderrors.Join(retErr, src.Close()) }()
	raw, mimeType, err := src.GetManifest(ctx, nil)
	if err != nil {
		return "", errors.Wrap(err, "reading manifest")
	}
	if !manifest.MIMETypeIsMultiImage(mimeType) {
		return manifest.Digest(raw)
	}
	list, err := manifest.ListFromBlob(raw, mimeType)
	if err != nil {
		return "", errors.Wrap(err, "parsing manifest list")
	}
	d, err = list.ChooseInstance(sys)
	if err != nil {
		return "", errors.Wrapf(ErrPlatformUnknown, "platform %s: %s", p, err.Error())
	}
	return d, nil
}

// inflightPulls makes concurrent pulls of the same source into the same store by this
// process one copy: the callers that come while it runs wait for it and share its outcome
// (only the first one's ReportWriter and Progress see it), so each blob is fetched once per
// process. Different processes are not coordinated: each fetches what its store lacks.
var inflightPulls singleflight.Group

// copyToStore copies src into the store under the name named (nil: unnamed), with
// retries, and returns the stored image.
func (r *Runtime) copyToStore(ctx context.Context, src types.ImageReference, named reference.Named, sys *types.SystemContext, o *PullOptions) (*Image, error) {
	id := ""
	if named == nil {
		var err error
		if id, err = configID(ctx, sys, src); err != nil {
			return nil, err
		}
	}
	dest, err := is.Transport.NewStoreReference(r.store, named, id)
	if err != nil {
		return nil, errors.Wrapf(err, "creating store reference for %s", transportName(src))
	}
	pc, err := r.policyContext()
	if err != nil {
		return nil, err
	}
	defer destroyPolicyContext(pc)
	c := storeCopy{source: sys, report: o.ReportWriter, progress: o.Progress}
	copyOnce := func() error {
		return withRetries(ctx, &o.RegistryOptions, "copying "+transportName(src), func() error {
			return r.copyIntoStore(ctx, pc, dest, src, c)
		})
	}
	key := strings.Join([]string{r.store.GraphRoot(), transportName(src), nameOf(named), id,
		sys.OSChoice, sys.ArchitectureChoice, sys.VariantChoice}, "\x00")
	_, err, shared := inflightPulls.Do(key, func() (any, error) { return nil, copyOnce() })
	if shared && ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = copyOnce() // the caller we waited for gave up; we did not
	}
	if err != nil {
		return nil, errors.Wrapf(err, "copying %s", transportName(src))
	}
	stored, err := is.Transport.GetStoreImage(r.store, dest)
	if err != nil {
		return nil, errors.Wrapf(err, "finding the image of %s after copying it", transportName(src))
	}
	img := r.newImage(stored)
	r.emit(EventPull, img.ID(), nameOf(named), nil)
	return img, nil
}

// pullOther copies an image of a transport other than docker:// into the store.
func (r *Runtime) pullOther(ctx context.Context, ref types.ImageReference, sys *types.SystemContext, o *PullOptions) (*Image, error) {
	if img, ok, err := r.pullArchive(ctx, ref, sys, o); ok || err != nil {
		return img, err
	}
	var named reference.Named
	if dn := ref.DockerReference(); dn != nil {
		var err error
		if named, err = NormalizeName(dn.String()); err != nil {
			return nil, err
		}
	}
	return r.copyToStore(ctx, ref, named, sys, o)
}

// pullArchive pulls the one image of a whole docker-archive, oci-archive or OCI layout (the
// reference names no image and selects none) with the names Load would give it, as podman
// names it from the archive. ok is false when that does not apply (a name or selector in the
// reference, another transport, an input of several images or without names): the caller
// copies the reference as it is then.
func (r *Runtime) pullArchive(ctx context.Context, ref types.ImageReference, sys *types.SystemContext, o *PullOptions) (*Image, bool, error) {
	switch ref.Transport().Name() {
	case "docker-archive", "oci-archive", "oci":
	default:
		return nil, false, nil
	}
	path, selector, _ := strings.Cut(ref.StringWithinTransport(), ":")
	if ref.DockerReference() != nil || selector != "" {
		return nil, false, nil
	}
	in, err := r.openInput(ctx, path)
	if err != nil {
		return nil, false, nil // c/image's copy of ref reports what is wrong, in its words
	}
	defer in.release()
	if len(in.sources) != 1 || len(in.sources[0].names) == 0 {
		return nil, false, nil
	}
	src := in.sources[0]
	named, err := NormalizeName(src.names[0])
	if err != nil {
		return nil, true, err
	}
	img, err := r.copyToStore(ctx, src.ref, named, sys, o)
	if err != nil || len(src.names) == 1 {
		return img, true, err
	}
	// c/storage puts added names first: adding them in reverse keeps the archive's order.
	if err := r.store.AddNames(img.ID(), reversed(src.names)); err != nil {
		return nil, true, errors.Wrapf(err, "naming image %s %v", img.ID(), src.names)
	}
	return img, true, img.Reload()
}

// pullAllTags pulls every tag of the repository name with policy.
func (r *Runtime) pullAllTags(ctx context.Context, name string, policy PullPolicy, sys *types.SystemContext, o *PullOptions) ([]*Image, error) {
	if parsed, err := reference.ParseNormalizedNamed(name); err != nil {
		return nil, invalidName(name, err)
	} else if !reference.IsNameOnly(parsed) {
		return nil, errors.Wrap(ErrAllTags, "the name has a tag or a digest")
	}
	candidates, err := resolveShortName(sys, name)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, c := range candidates.PullCandidates {
		images, err := r.pullTags(ctx, reference.TrimNamed(c.Value), policy, sys, o)
		if err == nil {
			return images, nil
		}
		if ctx.Err() != nil || len(candidates.PullCandidates) == 1 {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, candidates.FormatPullErrors(errs)
}

// pullTags lists the tags of repo and pulls each.
func (r *Runtime) pullTags(ctx context.Context, repo reference.Named, policy PullPolicy, sys *types.SystemContext, o *PullOptions) ([]*Image, error) {
	ref, err := docker.NewReference(reference.TagNameOnly(repo)) // the tag is not used for listing
	if err != nil {
		return nil, errors.Wrapf(err, "reference %s", repo)
	}
	var tags []string
	err = withRetries(ctx, &o.RegistryOptions, "listing tags of "+repo.String(), func() error {
		tags, err = docker.GetRepositoryTags(ctx, sys, ref)
		return err
	})
	if err != nil {
		return nil, errors.Wrapf(err, "listing tags of %s", repo)
	}
	images := make([]*Image, 0, len(tags))
	for _, tag := range tags {
		tagged, err := reference.WithTag(repo, tag)
		if err != nil {
			return images, errors.Wrapf(err, "tag %q of %s", tag, repo)
		}
		img, err := r.pullFromRegistry(ctx, tagged.String(), policy, sys, o)
		if err != nil {
			return images, err
		}
		images = append(images, img)
	}
	return images, nil
}

// transportName is ref as the user writes it, "transport:reference", for errors.
func transportName(ref types.ImageReference) string {
	return fmt.Sprintf("%s:%s", ref.Transport().Name(), ref.StringWithinTransport())
}

// nameOf is named as a string, "" for nil.
func nameOf(named reference.Named) string {
	if named == nil {
		return ""
	}
	return named.String()
}
