// Command floorpull is the floor of pulling an image into a vfs store, for bench/registry.sh:
// the least work any pull must do, in one process with no store, no metadata and no
// temporary files. It fetches the manifest and the config of REPO:TAG from a plain-HTTP
// registry, then for each layer in order streams its blob from the registry through one
// SHA-256 pass (checked against the digest) and gzip decompression (klauspost/compress, the
// fastest Go decompressor, on which c/image's pgzip is built) into a tar reader whose
// entries it writes into a new directory, made first as a copy of the parent layer's
// directory (regular files copied with copy_file_range), as the vfs driver lays layers out.
//
//	floorpull HOST:PORT REPO:TAG OUTDIR
//
// OUTDIR must not exist; the caller removes it afterwards. Whiteouts and device nodes are not
// handled (the images measured have none).
package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/klauspost/compress/gzip"
)

type manifest struct {
	Config struct {
		Digest string `json:"digest"`
	} `json:"config"`
	Layers []struct {
		Digest string `json:"digest"`
	} `json:"layers"`
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: floorpull HOST:PORT REPO:TAG OUTDIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "floorpull:", err)
		os.Exit(1)
	}
}

func run(reg, ref, out string) error {
	i := strings.LastIndex(ref, ":")
	if i < 0 {
		return fmt.Errorf("%s: no tag", ref)
	}
	base := "http://" + reg + "/v2/" + ref[:i]
	body, err := get(base+"/manifests/"+ref[i+1:], "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		return err
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("manifest of %s: %w", ref, err)
	}
	if err := os.Mkdir(out, 0o700); err != nil {
		return err
	}
	if err := fetch(base, m.Config.Digest, func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }); err != nil {
		return err
	}
	prev := ""
	for n, l := range m.Layers {
		dir := filepath.Join(out, strconv.Itoa(n+1))
		if prev == "" {
			err = os.Mkdir(dir, 0o755)
		} else {
			err = copyTree(prev, dir)
		}
		if err != nil {
			return err
		}
		if err := fetch(base, l.Digest, func(r io.Reader) error { return untar(r, dir) }); err != nil {
			return fmt.Errorf("layer %s: %w", l.Digest, err)
		}
		prev = dir
	}
	return nil
}

func get(url, accept string) (io.ReadCloser, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}

// fetch streams blob d through SHA-256 into use (gunzipped when it starts with gzip's magic),
// reads what use left, and checks the digest.
func fetch(base, d string, use func(io.Reader) error) error {
	body, err := get(base+"/blobs/"+d, "")
	if err != nil {
		return err
	}
	defer body.Close()
	h := sha256.New()
	tee := io.TeeReader(body, h)
	br := &peekReader{r: tee}
	var r io.Reader = br
	if br.gzipped() {
		if r, err = gzip.NewReader(br); err != nil {
			return err
		}
	}
	if err := use(r); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d {
		return fmt.Errorf("digest mismatch: got %s", got)
	}
	return nil
}

// peekReader lets fetch look at the first two bytes (the gzip magic) before reading on.
type peekReader struct {
	r    io.Reader
	head []byte
}

func (p *peekReader) gzipped() bool {
	b := make([]byte, 2)
	n, _ := io.ReadFull(p.r, b)
	p.head = b[:n]
	return n == 2 && b[0] == 0x1f && b[1] == 0x8b
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// untar writes the entries of the tar stream r under dir: directories, regular files,
// symlinks and hard links, with their mode, owner and modification time.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(p, fs.FileMode(h.Mode)&fs.ModePerm); err != nil && !os.IsExist(err) {
				return err
			}
		case tar.TypeReg:
			_ = os.Remove(p)
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_EXCL, fs.FileMode(h.Mode)&fs.ModePerm)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = os.Remove(p)
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		case tar.TypeLink:
			_ = os.Remove(p)
			if err := os.Link(filepath.Join(dir, filepath.Clean("/"+h.Linkname)), p); err != nil {
				return err
			}
		default:
			continue
		}
		if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeSymlink {
			if err := os.Chmod(p, fs.FileMode(h.Mode)&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
				return err
			}
			if err := os.Chtimes(p, h.ModTime, h.ModTime); err != nil {
				return err
			}
		}
	}
}

// copyTree copies the directory src to dst (which must not exist) as vfs does: directories,
// regular files (copy_file_range through os.File.ReadFrom), symlinks, owners, modes, times.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		q := filepath.Join(dst, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		switch {
		case fi.IsDir():
			if err := os.Mkdir(q, fi.Mode().Perm()); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(p, q, fi.Mode().Perm()); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(t, q); err != nil {
				return err
			}
		default:
			return nil
		}
		if err := os.Lchown(q, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if err := os.Chmod(q, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
				return err
			}
			return os.Chtimes(q, fi.ModTime(), fi.ModTime())
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
