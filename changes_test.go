package image

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/types"
)

func TestParseChanges(t *testing.T) {
	sh := func(s string) []string { return []string{"/bin/sh", "-c", s} }
	ports := func(p ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, s := range p {
			m[s] = struct{}{}
		}
		return m
	}
	cases := []struct {
		name    string
		changes []string
		want    imgspecv1.ImageConfig
		onBuild []string
	}{
		{"podman's busybox import", []string{`CMD ["sh"]`, "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
			imgspecv1.ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}}, nil},
		{"none", nil, imgspecv1.ImageConfig{}, nil},
		{"cmd shell form", []string{"CMD echo hello world"}, imgspecv1.ImageConfig{Cmd: sh("echo hello world")}, nil},
		{"cmd shell form keeps quotes", []string{`CMD echo "a  b"`}, imgspecv1.ImageConfig{Cmd: sh(`echo "a  b"`)}, nil},
		{"cmd broken JSON is shell form", []string{`CMD ["sh"`}, imgspecv1.ImageConfig{Cmd: sh(`["sh"`)}, nil},
		{"cmd JSON of non-strings is shell form", []string{`CMD [1, 2]`}, imgspecv1.ImageConfig{Cmd: sh(`[1, 2]`)}, nil},
		{"cmd empty JSON", []string{`CMD []`}, imgspecv1.ImageConfig{Cmd: []string{}}, nil},
		{"lower case, tab, =", []string{"cmd\t[\"a\", \"b\"]", "entrypoint=/bin/app"},
			imgspecv1.ImageConfig{Cmd: []string{"a", "b"}, Entrypoint: sh("/bin/app")}, nil},
		{"podman's = form", []string{"LABEL=blue=image", "CMD=/bin/bash"},
			imgspecv1.ImageConfig{Labels: map[string]string{"blue": "image"}, Cmd: sh("/bin/bash")}, nil},
		{"entrypoint exec form", []string{`ENTRYPOINT ["/bin/app", "--flag"]`}, imgspecv1.ImageConfig{Entrypoint: []string{"/bin/app", "--flag"}}, nil},
		{"later CMD wins", []string{"CMD a", `CMD ["b"]`}, imgspecv1.ImageConfig{Cmd: []string{"b"}}, nil},
		{"env pairs and quotes", []string{`ENV A=1 B="two words" C='single $quoted' D=esc\ aped E= F="q\"uote"`},
			imgspecv1.ImageConfig{Env: []string{"A=1", "B=two words", "C=single $quoted", "D=esc aped", "E=", `F=q"uote`}}, nil},
		{"env legacy", []string{"ENV GREETING hello   big world"}, imgspecv1.ImageConfig{Env: []string{"GREETING=hello   big world"}}, nil},
		{"env legacy quoted", []string{`ENV GREETING "hello world"`}, imgspecv1.ImageConfig{Env: []string{"GREETING=hello world"}}, nil},
		{"env value with =", []string{"ENV OPTS=a=b,c=d"}, imgspecv1.ImageConfig{Env: []string{"OPTS=a=b,c=d"}}, nil},
		{"env set again keeps its place", []string{"ENV A=1 B=2", "ENV A=3"}, imgspecv1.ImageConfig{Env: []string{"A=3", "B=2"}}, nil},
		{"env no expansion", []string{"ENV PATH=$PATH:/opt/bin"}, imgspecv1.ImageConfig{Env: []string{"PATH=$PATH:/opt/bin"}}, nil},
		{"labels", []string{`LABEL a=1 "b c"=2`, `LABEL version "1.0 beta"`, "LABEL a=3"},
			imgspecv1.ImageConfig{Labels: map[string]string{"a": "3", "b c": "2", "version": "1.0 beta"}}, nil},
		{"expose", []string{"EXPOSE 80", "EXPOSE 53/UDP 8000-8002/tcp 9/sctp"},
			imgspecv1.ImageConfig{ExposedPorts: ports("80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp", "9/sctp")}, nil},
		{"user", []string{"USER daemon:daemon"}, imgspecv1.ImageConfig{User: "daemon:daemon"}, nil},
		{"volumes add up", []string{`VOLUME ["/a", "/b c"]`, "VOLUME /d /e"},
			imgspecv1.ImageConfig{Volumes: ports("/a", "/b c", "/d", "/e")}, nil},
		{"workdir relative to the previous", []string{"WORKDIR /srv", "WORKDIR app/../web"}, imgspecv1.ImageConfig{WorkingDir: "/srv/web"}, nil},
		{"workdir relative first", []string{"WORKDIR app"}, imgspecv1.ImageConfig{WorkingDir: "/app"}, nil},
		{"stopsignal kept as written", []string{"STOPSIGNAL SIGKILL"}, imgspecv1.ImageConfig{StopSignal: "SIGKILL"}, nil},
		{"stopsignal number", []string{"STOPSIGNAL 9"}, imgspecv1.ImageConfig{StopSignal: "9"}, nil},
		{"stopsignal short and rt", []string{"STOPSIGNAL term", "STOPSIGNAL SIGRTMIN+3"}, imgspecv1.ImageConfig{StopSignal: "SIGRTMIN+3"}, nil},
		{"onbuild", []string{"ONBUILD RUN make", "onbuild add . /src"}, imgspecv1.ImageConfig{}, []string{"RUN make", "add . /src"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseChanges(c.changes)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.config, c.want) {
				t.Errorf("config\n got %#v\nwant %#v", got.config, c.want)
			}
			if !reflect.DeepEqual(got.onBuild, c.onBuild) {
				t.Errorf("onBuild %q, want %q", got.onBuild, c.onBuild)
			}
		})
	}
}

// TestParseChangesErrors: each bad change fails with ErrInvalidChange, quoting the change and
// naming the instruction (or what is wrong with it).
func TestParseChangesErrors(t *testing.T) {
	cases := []struct {
		change  string
		mention string
	}{
		{"", "no instruction"},
		{"   ", "no instruction"},
		{"123", "no instruction"},
		{"FROM busybox", "unknown instruction FROM"},
		{"RUN make", "unknown instruction RUN"},
		{"MAINTAINER me", "unknown instruction MAINTAINER"},
		{`CMD["sh"]`, "unknown instruction"},
		{"CMD", "CMD needs an argument"},
		{"CMD   ", "CMD needs an argument"},
		{"ENTRYPOINT=", "ENTRYPOINT needs an argument"},
		{"ENV", "ENV needs an argument"},
		{"ENV A", "ENV"},
		{"ENV =1", "ENV: empty name"},
		{`ENV "="=`, `ENV: variable name "=" contains "="`},
		{`ENV "a=b" c`, `ENV: variable name "a=b" contains "="`},
		{"ENV A=1 B", `ENV: no "=" in "B"`},
		{`ENV A="open`, "ENV: unterminated"},
		{`ENV A='open`, "ENV: unterminated"},
		{"LABEL justakey", "LABEL"},
		{`LABEL ""=x`, "LABEL: empty name"},
		{"EXPOSE http", "EXPOSE"},
		{"EXPOSE 0", "EXPOSE"},
		{"EXPOSE 70000", "EXPOSE"},
		{"EXPOSE 80/icmp", "EXPOSE"},
		{"EXPOSE 90-80", "EXPOSE"},
		{"EXPOSE 80/tcp/udp", "EXPOSE"},
		{"STOPSIGNAL SIGNOPE", "STOPSIGNAL"},
		{"STOPSIGNAL 0", "STOPSIGNAL"},
		{"STOPSIGNAL 65", "STOPSIGNAL"},
		{"STOPSIGNAL SIGRTMIN+31", "STOPSIGNAL"},
		{"STOPSIGNAL SIGRTMIN+03", "STOPSIGNAL"},
		{"ONBUILD ONBUILD RUN x", "ONBUILD: ONBUILD is not allowed"},
		{"ONBUILD FROM busybox", "ONBUILD: FROM is not allowed"},
		{"ONBUILD FROB x", "ONBUILD: unknown trigger"},
		{"VOLUME []", "VOLUME"},
		{`VOLUME ["/a", ""]`, "VOLUME: empty path"},
	}
	for _, c := range cases {
		t.Run(c.change, func(t *testing.T) {
			_, err := parseChanges([]string{"CMD ok", c.change})
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidChange) {
				t.Errorf("error %q does not wrap ErrInvalidChange", err)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q does not mention %q", err, c.mention)
			}
			if !strings.Contains(err.Error(), `"`+strings.ReplaceAll(c.change, `"`, `\"`)+`"`) {
				t.Errorf("error %q does not quote the change", err)
			}
		})
	}
}

// TestImportChanges: every instruction reaches the stored config; ONBUILD goes where Docker
// keeps it.
func TestImportChanges(t *testing.T) {
	rt, _ := newTestRuntime(t)
	changes := []string{
		"ENTRYPOINT /bin/app --flag", `CMD ["--help"]`, `ENV A=1 B="two words"`, "ENV LEGACY some value",
		"EXPOSE 80 53/udp", `LABEL org.example.x=y "with space"=z`, "USER 1000:1000",
		`VOLUME ["/data", "/logs"]`, "WORKDIR /srv", "WORKDIR app", "STOPSIGNAL SIGQUIT",
		"ONBUILD RUN echo hi",
	}
	id := mustImport(t, rt, busyboxRootfs(t), &ImportOptions{Changes: changes})
	cfg, err := mustLookup(t, rt, id).Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := imgspecv1.ImageConfig{
		Entrypoint:   []string{"/bin/sh", "-c", "/bin/app --flag"},
		Cmd:          []string{"--help"},
		Env:          []string{"A=1", "B=two words", "LEGACY=some value"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}},
		Labels:       map[string]string{"org.example.x": "y", "with space": "z"},
		User:         "1000:1000",
		Volumes:      map[string]struct{}{"/data": {}, "/logs": {}},
		WorkingDir:   "/srv/app",
		StopSignal:   "SIGQUIT",
	}
	if !reflect.DeepEqual(cfg.Config, want) {
		t.Errorf("config\n got %+v\nwant %+v", cfg.Config, want)
	}
	var docker struct {
		Config struct{ OnBuild []string } `json:"config"`
	}
	if err := json.Unmarshal(rawConfig(t, rt, id), &docker); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(docker.Config.OnBuild, []string{"RUN echo hi"}) {
		t.Errorf("OnBuild %q", docker.Config.OnBuild)
	}
}

// TestImportPlatform: explicit values, aliases, the SystemContext's choices as defaults.
func TestImportPlatform(t *testing.T) {
	cases := []struct {
		name             string
		opts             ImportOptions
		sys              types.SystemContext
		os, arch, varian string
	}{
		{"explicit", ImportOptions{OS: "linux", Arch: "arm64"}, types.SystemContext{}, "linux", "arm64", ""},
		{"variant", ImportOptions{OS: "linux", Arch: "arm", Variant: "v6"}, types.SystemContext{}, "linux", "arm", "v6"},
		{"arm default variant", ImportOptions{Arch: "arm"}, types.SystemContext{}, runtime.GOOS, "arm", "v7"},
		{"x86_64", ImportOptions{Arch: "x86_64"}, types.SystemContext{}, runtime.GOOS, "amd64", ""},
		{"aarch64", ImportOptions{Arch: "AArch64", Variant: "v8"}, types.SystemContext{}, runtime.GOOS, "arm64", ""},
		{"system choices", ImportOptions{}, types.SystemContext{OSChoice: "freebsd", ArchitectureChoice: "riscv64"}, "freebsd", "riscv64", ""},
		{"system variant", ImportOptions{}, types.SystemContext{ArchitectureChoice: "arm", VariantChoice: "v5"}, runtime.GOOS, "arm", "v5"},
		{"options win", ImportOptions{OS: "windows", Arch: "386"}, types.SystemContext{OSChoice: "freebsd", ArchitectureChoice: "riscv64", VariantChoice: "v5"}, "windows", "386", ""},
	}
	rootfs := busyboxRootfs(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			rt.sys.OSChoice, rt.sys.ArchitectureChoice, rt.sys.VariantChoice = c.sys.OSChoice, c.sys.ArchitectureChoice, c.sys.VariantChoice
			id := mustImport(t, rt, rootfs, &c.opts)
			cfg, err := mustLookup(t, rt, id).Config(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OS != c.os || cfg.Architecture != c.arch || cfg.Variant != c.varian {
				t.Errorf("platform %s/%s/%s, want %s/%s/%s", cfg.OS, cfg.Architecture, cfg.Variant, c.os, c.arch, c.varian)
			}
		})
	}
}

// FuzzParseChanges: any input is parsed or refused with ErrInvalidChange quoting it, never a
// panic; what parses is a configuration Docker would accept: it encodes as JSON, its working
// directory is absolute and clean, every ENV entry is NAME=VALUE with a name, every exposed
// port is PORT/PROTOCOL, the stop signal is a valid one, and the same change applied twice
// parses too.
func FuzzParseChanges(f *testing.F) {
	for _, s := range []string{`CMD ["sh"]`, `ENV A="b c" D=e`, "ENV k v", "EXPOSE 1-3/udp", `LABEL "a=b"=c`, `ENV A=\`, "STOPSIGNAL RTMAX-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, change string) {
		c, err := parseChanges([]string{change})
		if err != nil {
			if !errors.Is(err, ErrInvalidChange) || !strings.Contains(err.Error(), strconv.Quote(change)) {
				t.Fatalf("%q: error %v does not wrap ErrInvalidChange or quote the change", change, err)
			}
			return
		}
		checkChangedConfig(t, change, &c.config)
		if _, err := parseChanges([]string{change, change}); err != nil {
			t.Fatalf("%q parses once, not twice: %v", change, err)
		}
	})
}

var exposedPort = regexp.MustCompile(`^[1-9][0-9]{0,4}/(tcp|udp|sctp)$`)

func checkChangedConfig(t *testing.T, change string, config *imgspecv1.ImageConfig) {
	t.Helper()
	if _, err := json.Marshal(config); err != nil {
		t.Fatalf("%q: the config does not encode: %v", change, err)
	}
	if wd := config.WorkingDir; wd != "" && (!path.IsAbs(wd) || path.Clean(wd) != wd) {
		t.Fatalf("%q: working directory %q is not absolute and clean", change, wd)
	}
	for _, kv := range config.Env {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			t.Fatalf("%q: ENV entry %q is not NAME=VALUE", change, kv)
		}
	}
	for p := range config.ExposedPorts {
		if !exposedPort.MatchString(p) {
			t.Fatalf("%q: exposed port %q is not PORT/PROTOCOL", change, p)
		}
	}
	if sig := config.StopSignal; sig != "" && !validSignal(sig) {
		t.Fatalf("%q: stop signal %q", change, sig)
	}
}
