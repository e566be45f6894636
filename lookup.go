package image

import (
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/shortnames"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/storage"
)

const storageTransportPrefix = "containers-storage:"

// NormalizeName returns the name under which an image name is stored. It parses name with the
// reference grammar; a short name (first component without "." or ":" and not "localhost")
// gets "localhost/" in front ("busybox" → "localhost/busybox:latest"), "docker.io/busybox"
// becomes "docker.io/library/busybox:latest", a name without tag or digest gets ":latest", and
// a name with both keeps the digest only. Empty, uppercase and over-long names (a repository
// of more than 255 characters once "localhost/" is added), a repository of exactly 64 hex
// digits (with or without tag; it would read as an image ID), a name starting with a digest
// algorithm ("sha256:...", an ID or a digest), empty components and bad characters are errors
// wrapping ErrInvalidName that quote the input.
func NormalizeName(name string) (reference.Named, error) {
	if name == "" {
		return nil, errors.Wrapf(ErrInvalidName, "%q: empty name", name)
	}
	if isDigestLike(name) {
		return nil, errors.Wrapf(ErrInvalidName, "%q: an ID or a digest is not a name", name)
	}
	ref, err := reference.Parse(name)
	if err != nil {
		return nil, invalidName(name, err)
	}
	named, ok := ref.(reference.Named)
	if !ok {
		return nil, errors.Wrapf(ErrInvalidName, "%q: a digest alone is not a name", name)
	}
	if isFullID(named.Name()) {
		return nil, errors.Wrapf(ErrInvalidName, "%q: a repository name of 64 hex digits would read as an image ID", name)
	}
	full := name
	if domain := reference.Domain(named); !strings.ContainsAny(domain, ".:") && domain != "localhost" {
		full = "localhost/" + name
	}
	named, err = reference.ParseNormalizedNamed(full)
	if err != nil {
		return nil, invalidName(name, err)
	}
	return dropTagIfDigested(reference.TagNameOnly(named))
}

// dropTagIfDigested turns "repo:tag@digest" into "repo@digest"; other names pass unchanged.
func dropTagIfDigested(named reference.Named) (reference.Named, error) {
	digested, ok := named.(reference.Digested)
	if !ok {
		return named, nil
	}
	if _, tagged := named.(reference.Tagged); !tagged {
		return named, nil
	}
	out, err := reference.WithDigest(reference.TrimNamed(named), digested.Digest())
	if err != nil {
		return nil, invalidName(named.String(), err)
	}
	return out, nil
}

// isDigestLike reports whether name starts with a digest algorithm and a colon
// ("sha256:..."): the reference grammar would read that as repository "sha256" with a tag,
// but it is an ID or a digest, never a name.
func isDigestLike(name string) bool {
	alg, _, ok := strings.Cut(name, ":")
	return ok && digest.Algorithm(alg).Available()
}

func invalidName(name string, cause error) error {
	return errors.Wrapf(ErrInvalidName, "%q: %s", name, cause.Error())
}

// LookupOptions tune LookupImage. Nil means defaults; there are none to set yet.
type LookupOptions struct{}

// LookupImage finds a local image and returns it with the name it resolved to (the stored
// name that matched, or the full ID). It changes nothing. The first rule that matches wins:
//
//  1. "containers-storage:[driver@root]name" is resolved in this store as name is;
//     "containers-storage:[name]@<full ID>" is the image with that ID, which must have a
//     name in name's repository when name is given. Any other transport is an error
//     wrapping ErrUnsupportedTransport (pull or load such images instead).
//  2. "sha256:" must be followed by a full 64-hex ID (else ErrInvalidName); a 64-hex string,
//     with or without the prefix, is looked up as an ID only.
//  3. Name candidates: a qualified name as itself (":latest" added); a short name as its
//     registries.conf alias, "localhost/<name>", "<registry>/<name>" for each
//     unqualified-search registry, then the docker.io form. A digested candidate matches an
//     image of that repository that records the digest.
//  4. A hex ID prefix, which must be unique (else ErrAmbiguous). Names win over prefixes.
//  5. Short names only: the one image with a name whose repository ends in "/<name>" with
//     the same tag or digest; several images are ErrAmbiguous.
//
// Nothing found is an error wrapping ErrImageUnknown; names that do not parse wrap
// ErrInvalidName. Every error quotes name.
func (r *Runtime) LookupImage(name string, opts *LookupOptions) (*Image, string, error) {
	q, err := r.parseLookup(name)
	if err != nil {
		return nil, "", err
	}
	img, resolved, err := r.resolve(q)
	if err != nil && q.outer != "" {
		return nil, "", errors.Wrapf(err, "looking up %q", q.outer)
	}
	return img, resolved, err
}

// lookupQuery is an input of LookupImage, parsed: which rules apply and with what.
type lookupQuery struct {
	// input is the name the rules are applied to; outer is the whole input when that was a
	// containers-storage reference ("" otherwise).
	input, outer string
	// id is a full ID (rules 1 and 2): only that image matches.
	id string
	// repo is the repository the image of id must have a name in (rule 1), if any.
	repo string
	// candidates are the full names of rule 3, in order.
	candidates []reference.Named
	// prefix is true when rule 4 applies: input is hex digits.
	prefix bool
	// suffix is the short name of rule 5, tagged or digested; nil when the rule does not apply.
	suffix reference.Named
}

// parseLookup reads name as LookupImage does, without looking at the store (registries.conf
// is read for the candidates of short names): an input that fails here can name no image,
// whatever the store holds. Errors wrap ErrInvalidName or ErrUnsupportedTransport.
func (r *Runtime) parseLookup(name string) (*lookupQuery, error) {
	if name == "" {
		return nil, errors.Wrapf(ErrInvalidName, "looking up %q: empty name", name)
	}
	if rest, ok := strings.CutPrefix(name, storageTransportPrefix); ok {
		return r.parseStorageReference(name, rest)
	}
	if ref, err := alltransports.ParseImageName(name); err == nil {
		return nil, errors.Wrapf(ErrUnsupportedTransport,
			"looking up %q: transport %q is not local: pull or load the image instead", name, ref.Transport().Name())
	}
	if rest, ok := strings.CutPrefix(name, "sha256:"); ok {
		if !isFullID(rest) {
			return nil, errors.Wrapf(ErrInvalidName, "looking up %q: sha256: must be followed by 64 hex digits", name)
		}
		return &lookupQuery{input: name, id: rest}, nil
	}
	if isFullID(name) {
		return &lookupQuery{input: name, id: name}, nil
	}
	candidates, err := r.nameCandidates(name)
	if err != nil {
		return nil, err
	}
	q := &lookupQuery{input: name, candidates: candidates, prefix: isHex(name)}
	if shortnames.IsShortName(name) {
		if q.suffix, err = suffixName(name); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// parseStorageReference reads "containers-storage:[driver@root]name" or
// "containers-storage:[driver@root][name]@<full ID>" (input is the whole, rest what follows
// the transport).
func (r *Runtime) parseStorageReference(input, rest string) (*lookupQuery, error) {
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			return nil, errors.Wrapf(ErrInvalidName, "looking up %q: unterminated store specification", input)
		}
		rest = rest[end+1:]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 && isFullID(rest[at+1:]) {
		q := &lookupQuery{input: input, id: rest[at+1:]}
		if name := rest[:at]; name != "" {
			named, err := NormalizeName(name)
			if err != nil {
				return nil, errors.Wrapf(err, "looking up %q", input)
			}
			q.repo = named.Name()
		}
		return q, nil
	}
	if rest == "" {
		return nil, errors.Wrapf(ErrInvalidName, "looking up %q: no image name", input)
	}
	q, err := r.parseLookup(rest)
	if err != nil {
		return nil, errors.Wrapf(err, "looking up %q", input)
	}
	q.outer = input
	return q, nil
}

// resolve applies the rules of LookupImage that q calls for to the store.
func (r *Runtime) resolve(q *lookupQuery) (*Image, string, error) {
	if q.id != "" {
		return r.lookupID(q.input, q.id, q.repo)
	}
	for _, c := range q.candidates {
		img, err := r.lookupCandidate(c)
		if err != nil {
			return nil, "", err
		}
		if img != nil {
			return img, c.String(), nil
		}
	}
	if q.prefix {
		img, err := r.lookupIDPrefix(q.input)
		if err != nil || img != nil {
			return img, idOf(img), err
		}
	}
	if q.suffix != nil {
		return r.lookupSuffix(q.input, q.suffix)
	}
	return nil, "", errors.Wrapf(ErrImageUnknown, "looking up %q", q.input)
}

// lookupID finds the image with exactly this full ID, which must have a name in the
// repository repo when that is not "" (c/image's storage transport requires it).
func (r *Runtime) lookupID(input, id, repo string) (*Image, string, error) {
	s, err := r.store.Image(id)
	if err != nil && !errors.Is(err, storage.ErrImageUnknown) {
		return nil, "", errors.Wrapf(err, "looking up %q", input)
	}
	if err != nil || s.ID != id {
		return nil, "", errors.Wrapf(ErrImageUnknown, "looking up %q", input)
	}
	if repo != "" && !inRepository(s, repo) {
		return nil, "", errors.Wrapf(ErrImageUnknown, "looking up %q: image %s has no name in %s", input, id, repo)
	}
	return r.newImage(s), id, nil
}

func idOf(img *Image) string {
	if img == nil {
		return ""
	}
	return img.ID()
}

// nameCandidates lists the full names a name may stand for, in the order they are tried.
func (r *Runtime) nameCandidates(name string) ([]reference.Named, error) {
	if _, err := reference.Parse(name); err != nil {
		return nil, invalidName(name, err)
	}
	if shortnames.IsShortName(name) {
		// Every candidate of a short name is "<registry>/<name>": "A/0" parses, with "A" as
		// a registry, but as a short name it is "localhost/A/0", which does not.
		if _, err := reference.ParseNormalizedNamed("localhost/" + name); err != nil {
			return nil, invalidName(name, err)
		}
	}
	resolved, err := shortnames.ResolveLocally(r.systemContext(), name)
	if err != nil {
		// The name parsed: what failed is registries.conf, or a candidate grown too long.
		if errors.Is(err, reference.ErrNameTooLong) {
			return nil, invalidName(name, err)
		}
		return nil, errors.Wrapf(err, "looking up %q: resolving short name", name)
	}
	if shortnames.IsShortName(name) {
		docker, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			return nil, invalidName(name, err)
		}
		resolved = append(resolved, reference.TagNameOnly(docker))
	}
	seen := map[string]bool{}
	out := make([]reference.Named, 0, len(resolved))
	for _, c := range resolved {
		c, err := dropTagIfDigested(c)
		if err != nil {
			return nil, err
		}
		if !seen[c.String()] {
			seen[c.String()] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// lookupCandidate finds the image stored under a full name, or for a digested name, the image
// of that repository recording the digest. It returns nil, nil when there is none.
func (r *Runtime) lookupCandidate(named reference.Named) (*Image, error) {
	if s, err := r.store.Image(named.String()); err == nil && hasName(s, named.String()) {
		return r.newImage(s), nil
	} else if err != nil && !errors.Is(err, storage.ErrImageUnknown) {
		return nil, errors.Wrapf(err, "looking up %q", named.String())
	}
	digested, ok := named.(reference.Digested)
	if !ok {
		return nil, nil
	}
	images, err := r.store.ImagesByDigest(digested.Digest())
	if err != nil {
		return nil, errors.Wrapf(err, "looking up %q", named.String())
	}
	sort.Slice(images, func(a, b int) bool { return images[a].ID < images[b].ID })
	for _, s := range images {
		if inRepository(s, named.Name()) {
			return r.newImage(s), nil
		}
	}
	return nil, nil
}

func hasName(s *storage.Image, name string) bool {
	for _, n := range s.Names {
		if n == name {
			return true
		}
	}
	return false
}

// inRepository reports whether one of the image's names is in the repository repo.
func inRepository(s *storage.Image, repo string) bool {
	for _, n := range s.Names {
		if ref, err := reference.ParseNormalizedNamed(n); err == nil && ref.Name() == repo {
			return true
		}
	}
	return false
}

// lookupIDPrefix finds the one image whose ID starts with prefix. It returns nil, nil when
// there is none and ErrAmbiguous when there are several.
func (r *Runtime) lookupIDPrefix(prefix string) (*Image, error) {
	if s, err := r.store.Image(prefix); err == nil && strings.HasPrefix(s.ID, prefix) {
		return r.newImage(s), nil
	}
	// c/storage answers "unknown" for an ambiguous prefix too: tell the two apart.
	images, err := r.store.Images()
	if err != nil {
		return nil, errors.Wrapf(err, "looking up %q", prefix)
	}
	var ids []string
	for k := range images {
		if strings.HasPrefix(images[k].ID, prefix) {
			ids = append(ids, images[k].ID)
		}
	}
	if len(ids) > 1 {
		return nil, errors.Wrapf(ErrAmbiguous, "looking up %q: ID prefix of %d images", prefix, len(ids))
	}
	return nil, nil
}

// suffixName is the short name of rule 5 of LookupImage, with ":latest" added when it has
// neither tag nor digest; nil when name is not a repository name.
func suffixName(name string) (reference.Named, error) {
	ref, err := reference.Parse(name)
	if err != nil {
		return nil, invalidName(name, err)
	}
	named, ok := ref.(reference.Named)
	if !ok {
		return nil, nil
	}
	return dropTagIfDigested(reference.TagNameOnly(named))
}

// lookupSuffix is the last resort for short names: an image with a name whose repository
// path ends in "/<name>" at a "/" boundary, with the same tag or digest (named: name parsed).
func (r *Runtime) lookupSuffix(name string, named reference.Named) (*Image, string, error) {
	images, err := r.store.Images()
	if err != nil {
		return nil, "", errors.Wrapf(err, "looking up %q", name)
	}
	var found *storage.Image
	var resolved string
	for k := range images {
		if match := suffixMatch(&images[k], named); match != "" {
			if found != nil && found.ID != images[k].ID {
				return nil, "", errors.Wrapf(ErrAmbiguous, "looking up %q: matches %q and %q", name, resolved, match)
			}
			found, resolved = &images[k], match
		}
	}
	if found == nil {
		return nil, "", errors.Wrapf(ErrImageUnknown, "looking up %q", name)
	}
	return r.newImage(found), resolved, nil
}

// suffixMatch returns the image's name that short (an unnormalized tagged or digested name)
// matches by repository suffix, or "".
func suffixMatch(s *storage.Image, short reference.Named) string {
	suffix := "/" + short.Name()
	for _, n := range s.Names {
		ref, err := reference.ParseNormalizedNamed(n)
		if err != nil || !strings.HasSuffix(ref.Name(), suffix) {
			continue
		}
		switch want := short.(type) {
		case reference.Digested:
			for _, d := range s.Digests {
				if d == want.Digest() {
					return ref.Name() + "@" + d.String()
				}
			}
		case reference.Tagged:
			if tagged, ok := ref.(reference.Tagged); ok && tagged.Tag() == want.Tag() {
				return n
			}
		}
	}
	return ""
}

// isFullID reports whether s is a full image ID: 64 lowercase hex digits.
func isFullID(s string) bool {
	return len(s) == 64 && isHex(s)
}

// isHex reports whether s is a non-empty string of lowercase hex digits.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
