package realtime

import (
	"sync"
)

// Fan-out is sharded: every socket belongs to one shard (chosen round-robin
// when it connects), every channel keeps its subscribers per shard, and one
// worker goroutine per shard writes that shard's share of each message. The
// bus receiver hands each message to the workers in the order Redis
// delivered it, and a socket is only ever written by its own shard's worker
// (in FIFO order), so every socket sees a channel's messages in bus order.

// localChannel is one channel's subscribers on this replica.
type localChannel struct {
	name   string
	shards []chanShard
	// count is the number of subscribers over all shards (under Server.mu
	// for writes, which join and leave hold).
	count int
}

type chanShard struct {
	mu   sync.RWMutex
	subs []*conn
	idx  map[*conn]int
}

func newLocalChannel(name string, shards int) *localChannel {
	return &localChannel{name: name, shards: make([]chanShard, shards)}
}

// add reports false when c was already there.
func (ch *localChannel) add(c *conn) bool {
	sh := &ch.shards[c.shard]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, dup := sh.idx[c]; dup {
		return false
	}
	if sh.idx == nil {
		sh.idx = make(map[*conn]int)
	}
	sh.idx[c] = len(sh.subs)
	sh.subs = append(sh.subs, c)
	return true
}

// remove reports false when c was not there.
func (ch *localChannel) remove(c *conn) bool {
	sh := &ch.shards[c.shard]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := sh.idx[c]
	if !ok {
		return false
	}
	last := len(sh.subs) - 1
	if i != last {
		moved := sh.subs[last]
		sh.subs[i] = moved
		sh.idx[moved] = i
	}
	sh.subs[last] = nil
	sh.subs = sh.subs[:last]
	delete(sh.idx, c)
	if len(sh.subs) == 0 {
		sh.subs, sh.idx = nil, nil
	}
	return true
}

// members lists the channel's local subscribers.
func (ch *localChannel) members() []*conn {
	var out []*conn
	for i := range ch.shards {
		sh := &ch.shards[i]
		sh.mu.RLock()
		out = append(out, sh.subs...)
		sh.mu.RUnlock()
	}
	return out
}

// fanJob is one message for one shard of one channel.
type fanJob struct {
	ch     *localChannel
	frame  []byte // the wire frame, shared by every socket
	except string // socket id that must not get it
}

type fanWorker struct {
	shard int
	jobs  chan fanJob
}

func (s *Server) startFanout() {
	s.workers = make([]*fanWorker, s.cfg.FanoutShards)
	for i := range s.workers {
		w := &fanWorker{shard: i, jobs: make(chan fanJob, 1024)}
		s.workers[i] = w
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.runWorker(w) }()
	}
}

// stopFanout ends the workers once the bus receiver has stopped.
func (s *Server) stopFanout() {
	for _, w := range s.workers {
		close(w.jobs)
	}
}

func (s *Server) runWorker(w *fanWorker) {
	for j := range w.jobs {
		sh := &j.ch.shards[w.shard]
		n := 0
		sh.mu.RLock()
		for _, c := range sh.subs {
			if j.except != "" && c.id == j.except {
				continue
			}
			if c.write(j.frame, false) {
				n++
			}
		}
		sh.mu.RUnlock()
		if n > 0 {
			s.m.messagesOut.Add(float64(n))
		}
	}
}

// deliverLocal writes payload to this replica's subscribers of channel, but
// not to socket except. Only the bus receiver calls it, one message at a
// time, which is what keeps each channel in order.
func (s *Server) deliverLocal(channel, except string, payload []byte) {
	s.mu.RLock()
	ch := s.channels[channel]
	s.mu.RUnlock()
	if ch == nil {
		return
	}
	frame := textFrame(payload)
	for i, w := range s.workers {
		sh := &ch.shards[i]
		sh.mu.RLock()
		empty := len(sh.subs) == 0
		sh.mu.RUnlock()
		if empty {
			continue
		}
		w.jobs <- fanJob{ch: ch, frame: frame, except: except}
	}
}
