package image

import (
	"sync"
	"sync/atomic"
)

// configCacheSize bounds the Runtime-wide config cache. A decoded config is a few KiB, so
// the cache stays under a few tens of MiB.
const configCacheSize = 8192

// configCache keeps decoded configs by image ID for the Runtime's lifetime: a config is
// immutable for a given ID (the ID is its digest), so it is read and decoded once per
// process, not once per question. When full, it is emptied and refilled: simple, and the
// cost is at most one more read per config per configCacheSize new images.
type configCache struct {
	mu      sync.Mutex // guards configs
	configs map[string]*imageConfig
}

func (c *configCache) get(id string) *imageConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.configs[id]
}

func (c *configCache) put(id string, cfg *imageConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.configs == nil || len(c.configs) >= configCacheSize {
		c.configs = make(map[string]*imageConfig)
	}
	c.configs[id] = cfg
}

// counters count the expensive steps, so tests can check that a call builds one snapshot and
// reads each config once.
type counters struct {
	graphs      atomic.Int64 // snapshots of the store built
	configReads atomic.Int64 // configs read from the store
}
