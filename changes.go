package image

import (
	"encoding/json"
	"path"
	"strconv"
	"strings"
	"unicode"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// ErrInvalidChange: a change given to Import is not a supported Dockerfile instruction, or its
// arguments are malformed. The error quotes the change and names the instruction.
var ErrInvalidChange = errors.New("invalid change")

// imageChanges is the image configuration that a list of changes describes.
type imageChanges struct {
	config imgspecv1.ImageConfig
	// onBuild holds the ONBUILD triggers, which the OCI configuration has no field for.
	onBuild []string
}

// changeParsers maps each supported instruction to the function that applies its arguments.
var changeParsers = map[string]func(*imageChanges, string) error{
	"CMD":        parseCmd,
	"ENTRYPOINT": parseEntrypoint,
	"ENV":        parseEnv,
	"EXPOSE":     parseExpose,
	"LABEL":      parseLabel,
	"ONBUILD":    parseOnBuild,
	"STOPSIGNAL": parseStopSignal,
	"USER":       parseUser,
	"VOLUME":     parseVolume,
	"WORKDIR":    parseWorkdir,
}

// parseChanges applies changes in Dockerfile syntax, in order, to an empty configuration.
// An instruction is separated from its arguments by white space or, as podman also accepts,
// by "=" ("CMD=/bin/sh"); instructions are case-insensitive. Errors wrap ErrInvalidChange.
func parseChanges(changes []string) (*imageChanges, error) {
	c := &imageChanges{}
	for _, change := range changes {
		instr, args, err := splitInstruction(change)
		if err != nil {
			return nil, errors.Wrapf(ErrInvalidChange, "%q: %s", change, err.Error())
		}
		if err := changeParsers[instr](c, args); err != nil {
			return nil, errors.Wrapf(ErrInvalidChange, "%q: %s: %s", change, instr, err.Error())
		}
	}
	return c, nil
}

// splitInstruction returns the upper-cased instruction of change and its trimmed arguments.
func splitInstruction(change string) (string, string, error) {
	s := strings.TrimSpace(change)
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(s)
	}
	instr := strings.ToUpper(s[:end])
	if instr == "" {
		return "", "", errors.New("no instruction: expected INSTRUCTION ARGUMENTS")
	}
	if _, ok := changeParsers[instr]; !ok {
		return "", "", errors.Errorf("unknown instruction %s (supported: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)", instr)
	}
	rest := s[end:]
	switch {
	case rest == "":
		return "", "", errors.Errorf("%s needs an argument", instr)
	case rest[0] == '=':
		rest = rest[1:]
	case rest[0] != ' ' && rest[0] != '\t':
		return "", "", errors.Errorf("unknown instruction %s", strings.ToUpper(strings.Fields(s)[0]))
	}
	args := strings.TrimSpace(rest)
	if args == "" {
		return "", "", errors.Errorf("%s needs an argument", instr)
	}
	return instr, args, nil
}

// commandForm reads the arguments of CMD and ENTRYPOINT: a JSON array of strings (exec form),
// else the shell form, run as ["/bin/sh", "-c", args] as Docker and podman do. Text that
// starts with "[" but is no JSON array of strings is the shell form too, as in Docker.
func commandForm(args string) []string {
	if strings.HasPrefix(args, "[") {
		var list []string
		if err := json.Unmarshal([]byte(args), &list); err == nil {
			return list
		}
	}
	return []string{"/bin/sh", "-c", args}
}

func parseCmd(c *imageChanges, args string) error {
	c.config.Cmd = commandForm(args)
	return nil
}

func parseEntrypoint(c *imageChanges, args string) error {
	c.config.Entrypoint = commandForm(args)
	return nil
}

// parseEnv reads `ENV k=v k2="v 2"` or the legacy `ENV k v w` (k = "v w"). A variable set
// again keeps its place and takes the new value, as in Docker. Values are taken literally:
// quotes and backslashes are processed, "$VAR" is not expanded. A name containing "=" (which
// can only be written quoted) is refused: a process environment splits each entry at its
// first "=", so such a variable could never be read back under its name.
func parseEnv(c *imageChanges, args string) error {
	pairs, err := nameValues("ENV", args)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if strings.Contains(p[0], "=") {
			return errors.Errorf("variable name %q contains \"=\"", p[0])
		}
		c.config.Env = setEnv(c.config.Env, p[0], p[1])
	}
	return nil
}

func setEnv(env []string, key, value string) []string {
	for k, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); name == key {
			env[k] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// parseLabel reads `LABEL k=v "k 2"="v 2"` or the legacy `LABEL k v w`.
func parseLabel(c *imageChanges, args string) error {
	pairs, err := nameValues("LABEL", args)
	if err != nil {
		return err
	}
	if c.config.Labels == nil {
		c.config.Labels = map[string]string{}
	}
	for _, p := range pairs {
		c.config.Labels[p[0]] = p[1]
	}
	return nil
}

// nameValues reads the arguments of ENV and LABEL: name=value words, or, when the first word
// has no "=", the legacy form "name value..." where the value is the rest of the line.
func nameValues(instr, args string) ([][2]string, error) {
	words, err := splitWords(args)
	if err != nil {
		return nil, err
	}
	if _, _, hasEq, _ := splitNameValue(words[0]); !hasEq {
		return legacyNameValue(instr, args, words[0])
	}
	pairs := make([][2]string, 0, len(words))
	for _, w := range words {
		name, value, hasEq, err := splitNameValue(w)
		if err != nil {
			return nil, err
		}
		if !hasEq {
			return nil, errors.Errorf("no \"=\" in %q: use name=value", w)
		}
		if name == "" {
			return nil, errors.Errorf("empty name in %q", w)
		}
		pairs = append(pairs, [2]string{name, value})
	}
	return pairs, nil
}

// legacyNameValue reads "name value..." where first is the raw first word of args.
func legacyNameValue(instr, args, first string) ([][2]string, error) {
	name, err := unquote(first)
	if err != nil {
		return nil, err
	}
	rest := strings.TrimSpace(args[len(first):])
	if rest == "" {
		return nil, errors.Errorf("%q has no value: use %s name=value or %s name value", name, instr, instr)
	}
	value, err := unquote(rest)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, errors.New("empty name")
	}
	return [][2]string{{name, value}}, nil
}

// quoteScanner walks a string the way the Dockerfile shell lexer does: single quotes are
// literal, double quotes allow \" \\ \$ and \` escapes, a backslash outside quotes escapes any
// character.
type quoteScanner struct {
	s      string
	pos    int
	quote  byte // the open quote, or 0
	escape bool // the character at pos is escaped
}

// next advances to the next character; it reports the character, whether it is literal
// (quoted or escaped, so never a separator), and whether it belongs to the value (quotes and
// escaping backslashes do not). ok is false at the end.
func (q *quoteScanner) next() (ch byte, literal, keep, ok bool) {
	if q.pos >= len(q.s) {
		return 0, false, false, false
	}
	ch = q.s[q.pos]
	q.pos++
	switch {
	case q.quote == '\'':
		if ch == '\'' {
			q.quote = 0
			return ch, true, false, true
		}
		return ch, true, true, true
	case ch == '\\' && q.pos < len(q.s) && (q.quote == 0 || strings.IndexByte("\"\\$`", q.s[q.pos]) >= 0):
		q.pos++
		return q.s[q.pos-1], true, true, true
	case q.quote == '"':
		if ch == '"' {
			q.quote = 0
			return ch, true, false, true
		}
		return ch, true, true, true
	case ch == '\'' || ch == '"':
		q.quote = ch
		return ch, true, false, true
	}
	return ch, false, true, true
}

// splitWords splits s at white space outside quotes, keeping each word as written.
func splitWords(s string) ([]string, error) {
	var words []string
	q := &quoteScanner{s: s}
	start := -1
	for {
		at := q.pos
		ch, literal, _, ok := q.next()
		if !ok {
			break
		}
		isSpace := !literal && (ch == ' ' || ch == '\t')
		switch {
		case isSpace && start >= 0:
			words = append(words, s[start:at])
			start = -1
		case !isSpace && start < 0:
			start = at
		}
	}
	if q.quote != 0 {
		return nil, errors.Errorf("unterminated %c quote", q.quote)
	}
	if start >= 0 {
		words = append(words, s[start:])
	}
	return words, nil
}

// splitNameValue splits one word at its first "=" outside quotes, and unquotes both parts.
func splitNameValue(word string) (name, value string, hasEq bool, err error) {
	var parts [2]strings.Builder
	cur := 0
	q := &quoteScanner{s: word}
	for {
		ch, literal, keep, ok := q.next()
		if !ok {
			break
		}
		if ch == '=' && !literal && cur == 0 {
			cur, hasEq = 1, true
			continue
		}
		if keep {
			parts[cur].WriteByte(ch)
		}
	}
	if q.quote != 0 {
		return "", "", false, errors.Errorf("unterminated %c quote", q.quote)
	}
	return parts[0].String(), parts[1].String(), hasEq, nil
}

// unquote removes the quotes and escaping backslashes of s, keeping everything else,
// white space included.
func unquote(s string) (string, error) {
	var b strings.Builder
	q := &quoteScanner{s: s}
	for {
		ch, _, keep, ok := q.next()
		if !ok {
			break
		}
		if keep {
			b.WriteByte(ch)
		}
	}
	if q.quote != 0 {
		return "", errors.Errorf("unterminated %c quote", q.quote)
	}
	return b.String(), nil
}

// parseExpose reads ports "80", "80/udp", "8000-8002/tcp" separated by white space; the
// protocol is tcp, udp or sctp (tcp when omitted), a range is expanded, as in Docker.
func parseExpose(c *imageChanges, args string) error {
	for _, spec := range strings.Fields(args) {
		ports, proto, _ := strings.Cut(spec, "/")
		proto = strings.ToLower(proto)
		switch proto {
		case "":
			proto = "tcp"
		case "tcp", "udp", "sctp":
		default:
			return errors.Errorf("%q: protocol must be tcp, udp or sctp", spec)
		}
		first, last, err := portRange(ports)
		if err != nil {
			return errors.Wrapf(err, "%q", spec)
		}
		if c.config.ExposedPorts == nil {
			c.config.ExposedPorts = map[string]struct{}{}
		}
		for p := first; p <= last; p++ {
			c.config.ExposedPorts[strconv.Itoa(p)+"/"+proto] = struct{}{}
		}
	}
	return nil
}

// portRange reads "PORT" or "FIRST-LAST", each from 1 to 65535.
func portRange(s string) (int, int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	first, err := strconv.Atoi(lo)
	if err != nil || first < 1 || first > 65535 {
		return 0, 0, errors.Errorf("port %q is not a number from 1 to 65535", lo)
	}
	if !isRange {
		return first, first, nil
	}
	last, err := strconv.Atoi(hi)
	if err != nil || last < first || last > 65535 {
		return 0, 0, errors.Errorf("port range %q is not FIRST-LAST with FIRST <= LAST <= 65535", s)
	}
	return first, last, nil
}

// onBuildForbidden are the instructions Docker refuses as ONBUILD triggers.
var onBuildForbidden = map[string]bool{"ONBUILD": true, "FROM": true, "MAINTAINER": true}

// dockerfileInstructions are the instructions an ONBUILD trigger may use.
var dockerfileInstructions = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true,
	"EXPOSE": true, "HEALTHCHECK": true, "LABEL": true, "RUN": true, "SHELL": true,
	"STOPSIGNAL": true, "USER": true, "VOLUME": true, "WORKDIR": true,
}

// parseOnBuild keeps the trigger as written, after checking that it starts with a Dockerfile
// instruction Docker accepts as a trigger.
func parseOnBuild(c *imageChanges, args string) error {
	trigger := strings.ToUpper(strings.Fields(args)[0])
	if onBuildForbidden[trigger] {
		return errors.Errorf("%s is not allowed as a trigger", trigger)
	}
	if !dockerfileInstructions[trigger] {
		return errors.Errorf("unknown trigger instruction %s", trigger)
	}
	c.onBuild = append(c.onBuild, args)
	return nil
}

// parseStopSignal checks the signal (a name with or without SIG, or a number) and keeps it as
// written, as Docker does (podman stores the number).
func parseStopSignal(c *imageChanges, args string) error {
	if !validSignal(args) {
		return errors.Errorf("%q is not a signal name or number", args)
	}
	c.config.StopSignal = args
	return nil
}

// signalNames are Linux's signal names without the SIG prefix.
var signalNames = map[string]bool{
	"ABRT": true, "ALRM": true, "BUS": true, "CHLD": true, "CLD": true, "CONT": true,
	"FPE": true, "HUP": true, "ILL": true, "INT": true, "IO": true, "IOT": true, "KILL": true,
	"PIPE": true, "POLL": true, "PROF": true, "PWR": true, "QUIT": true, "SEGV": true,
	"STKFLT": true, "STOP": true, "SYS": true, "TERM": true, "TRAP": true, "TSTP": true,
	"TTIN": true, "TTOU": true, "URG": true, "USR1": true, "USR2": true, "VTALRM": true,
	"WINCH": true, "XCPU": true, "XFSZ": true, "RTMIN": true, "RTMAX": true,
}

// numRTSignals is the number of real-time signals after RTMIN (RTMIN+0 to RTMIN+30).
const numRTSignals = 30

func validSignal(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n >= 1 && n <= 64
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if signalNames[name] {
		return true
	}
	for _, base := range []string{"RTMIN+", "RTMAX-"} {
		if off, ok := strings.CutPrefix(name, base); ok {
			n, err := strconv.Atoi(off)
			return err == nil && n >= 0 && n <= numRTSignals && off == strconv.Itoa(n)
		}
	}
	return false
}

func parseUser(c *imageChanges, args string) error {
	c.config.User = args
	return nil
}

// parseVolume reads a JSON array of paths or paths separated by white space; volumes add up.
func parseVolume(c *imageChanges, args string) error {
	var paths []string
	if err := json.Unmarshal([]byte(args), &paths); err != nil || !strings.HasPrefix(args, "[") {
		paths = strings.Fields(args)
	}
	if len(paths) == 0 {
		return errors.New("no path")
	}
	for _, p := range paths {
		if strings.TrimSpace(p) == "" {
			return errors.New("empty path")
		}
		if c.config.Volumes == nil {
			c.config.Volumes = map[string]struct{}{}
		}
		c.config.Volumes[p] = struct{}{}
	}
	return nil
}

// parseWorkdir sets the working directory; a relative one is taken relative to the previous
// WORKDIR (or "/"), as Docker does.
func parseWorkdir(c *imageChanges, args string) error {
	dir := args
	if !path.IsAbs(dir) {
		dir = path.Join("/", c.config.WorkingDir, dir)
	}
	c.config.WorkingDir = path.Clean(dir)
	return nil
}
