package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-1e5c3c91/image/internal/testregistry"
)

// storedAuths returns the "auths" entries of an auth file, by key, with the decoded
// "user:password".
func storedAuths(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Auths map[string]struct{ Auth string }
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for k, v := range file.Auths {
		dec, err := base64.StdEncoding.DecodeString(v.Auth)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(dec)
	}
	return out
}

func TestLoginLogout(t *testing.T) {
	const password = "l0gin-s3cret"
	e, reg := newRegistryEnv(t, &testregistry.Options{TLS: true, Username: "someone", Password: password})
	authFile := filepath.Join(t.TempDir(), "auth.json")
	conn := []string{"--authfile", authFile, "--cert-dir", reg.CertDir}
	login := func(args ...string) []string { return append(append([]string{"login"}, conn...), args...) }

	// Refused: nothing is stored, and the password is never printed.
	for _, c := range []struct {
		args []string
		want string
	}{
		{login("-u", "someone", "-p", "wrong-"+password, reg.Host), "invalid username/password"},
		{login("-u", "someone", reg.Host), "no --password"},
		{login("-p", password, reg.Host), "no --username"},
		{login("--password-stdin", reg.Host), "--password-stdin needs --username"},
		{login("-u", "someone", "-p", password, "https://"+reg.Host), "invalid registry"},
		{[]string{"login", "--authfile", authFile, "-u", "someone", "-p", password, reg.Host}, "certificate"},
		{[]string{"login"}, "login needs one REGISTRY"},
	} {
		stdout, stderr, code := e.run(c.args...)
		if code != exitError || stdout != "" || !strings.Contains(stderr, c.want) || strings.Contains(stderr, password) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if _, err := os.Stat(authFile); !os.IsNotExist(err) {
		t.Errorf("auth file written by refused logins: %v", err)
	}

	if got := e.mustRun(t, login("-u", "someone", "-p", password, reg.Host)...); got != "Login Succeeded!\n" {
		t.Errorf("login: %q", got)
	}
	if got := storedAuths(t, authFile); len(got) != 1 || got[reg.Host] != "someone:"+password {
		t.Errorf("auth file after login: %v", got)
	}
	if got := e.mustRun(t, login(reg.Host)...); !strings.Contains(got, "Already logged in to "+reg.Host) {
		t.Errorf("login with stored credentials: %q", got)
	}
	// pull and push read the stored credentials.
	if got := e.mustRun(t, append([]string{"pull", "-q"}, append(conn, reg.Host+"/lib/busybox:1")...)...); got != recordedID(t, "busybox")+"\n" {
		t.Errorf("pull after login: %q", got)
	}
	e.mustRun(t, append([]string{"push"}, append(conn, reg.Host+"/lib/busybox:1", reg.Host+"/lib/copy:1")...)...)

	// A namespace of its own, with the password from stdin.
	out, err := e.runStdin(strings.NewReader(password+"\n"), login("-u", "someone", "--password-stdin", reg.Host+"/lib")...)
	if err != nil || out != "Login Succeeded!\n" {
		t.Errorf("login --password-stdin: %q, %v", out, err)
	}
	if got := storedAuths(t, authFile); len(got) != 2 || got[reg.Host+"/lib"] != "someone:"+password {
		t.Errorf("auth file after the second login: %v", got)
	}

	if got := e.mustRun(t, "logout", "--authfile", authFile, reg.Host); got != "Removed login credentials for "+reg.Host+"\n" {
		t.Errorf("logout: %q", got)
	}
	if got := storedAuths(t, authFile); len(got) != 1 || got[reg.Host+"/lib"] == "" {
		t.Errorf("auth file after logout: %v", got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"logout", "--authfile", authFile, reg.Host}, "not logged in to"},
		{[]string{"logout", "--authfile", authFile}, "logout needs one REGISTRY, or --all"},
		{[]string{"logout", "--authfile", authFile, "--all", reg.Host}, "logout needs one REGISTRY, or --all"},
	} {
		if stdout, stderr, code := e.run(c.args...); code != exitError || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if got := e.mustRun(t, "logout", "--authfile", authFile, "--all"); got != "Removed login credentials for all registries\n" {
		t.Errorf("logout --all: %q", got)
	}
	if got := storedAuths(t, authFile); len(got) != 0 {
		t.Errorf("auth file after logout --all: %v", got)
	}
}
