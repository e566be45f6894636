package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// inspectKeys are the fields compared with podman's recorded inspect output: all of them.
var inspectKeys = []string{
	"Id", "Digest", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "Config",
	"Version", "Author", "Architecture", "Os", "Size", "VirtualSize", "GraphDriver", "RootFS",
	"Labels", "Annotations", "ManifestType", "User", "History", "NamesHistory",
}

func TestInspect(t *testing.T) {
	e := newLoadedEnv(t)
	tests := []struct {
		arg  string
		want []string // the testdata/<name>.inspect.json files, in order
	}{
		{"busybox", []string{"busybox"}},
		{"localhost/chain-top:v1", []string{"chain-top"}},
		{"chain-mid", []string{"chain-mid"}},
		{recordedID(t, "chain-base")[:10], []string{"chain-base"}},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			checkInspect(t, e.mustRun(t, "inspect", tt.arg), tt.want)
		})
	}
	t.Run("several", func(t *testing.T) {
		checkInspect(t, e.mustRun(t, "inspect", "chain-top", "busybox"), []string{"chain-top", "busybox"})
	})
}

// checkInspect decodes inspect's output and compares every field with podman's record.
func checkInspect(t *testing.T, out string, names []string) {
	t.Helper()
	if !strings.HasPrefix(out, "[\n     {\n          \"Id\": ") {
		t.Errorf("not podman's layout (5-space indent, Id first):\n%.80s", out)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) {
		t.Fatalf("%d entries, want %d", len(got), len(names))
	}
	for k, name := range names {
		want := recordedInspect(t, name)
		for _, key := range inspectKeys {
			if !reflect.DeepEqual(got[k][key], want[key]) {
				t.Errorf("%s: %s = %#v, podman recorded %#v", name, key, got[k][key], want[key])
			}
		}
	}
}

func TestInspectParent(t *testing.T) {
	e := newLoadedEnv(t)
	for name, parent := range map[string]string{"chain-top": "chain-mid", "chain-mid": "chain-base", "chain-base": "busybox", "busybox": ""} {
		want := ""
		if parent != "" {
			want = recordedID(t, parent)
		}
		if rec := recordedInspect(t, name)["Parent"]; rec != want {
			t.Fatalf("testdata: %s.inspect.json Parent %v, want %v", name, rec, want)
		}
		if got := e.mustRun(t, "inspect", "--format", "{{.Parent}}", name); got != want+"\n" {
			t.Errorf("%s: Parent %q, want %q", name, got, want)
		}
	}
}

func TestInspectFormat(t *testing.T) {
	e := newLoadedEnv(t)
	busybox, top := recordedID(t, "busybox"), recordedID(t, "chain-top")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--format", "{{.Id}}", "busybox"}, busybox + "\n"},
		{[]string{"-f", "{{ .Id }}", "busybox"}, busybox + "\n"},
		{[]string{"--format", "{{.ID}}", "busybox"}, busybox + "\n"},
		{[]string{"-f", "{{.Id}} {{.Os}}/{{.Architecture}}", "busybox", "chain-top"}, busybox + " linux/amd64\n" + top + " linux/amd64\n"},
		{[]string{"-f", "{{.Config.Cmd}} {{.RepoTags}}", "busybox"}, "[sh] [localhost/busybox:latest]\n"},
		// Without "table ", a tab is printed as it is (podman aligns tables only).
		{[]string{"-f", `{{.Digest}}\t{{len .RootFS.Layers}}`, "busybox"}, recordedInspect(t, "busybox")["Digest"].(string) + "\t1\n"},
		{[]string{"-f", `table {{.Digest}} {{len .RootFS.Layers}}`, "busybox"}, recordedInspect(t, "busybox")["Digest"].(string) + "  1\n"},
		{[]string{"-f", "{{json .Config.Env}}", "busybox"}, `["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]` + "\n"},
		{[]string{"-f", "json", "busybox"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := e.mustRun(t, append([]string{"inspect"}, tt.args...)...)
			if tt.want == "" {
				checkInspect(t, got, []string{"busybox"})
			} else if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
