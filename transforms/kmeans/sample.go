package kmeans

import (
	"container/heap"
	"hash/fnv"
	"slices"
)

// Point is one sampled customer: the hash that ranks it, its key and its feature vector.
type Point struct {
	Hash uint64
	Key  string
	X    []float64
}

// Sample keeps the Max points with the smallest (Hash, Key): a bottom-k sample. The result
// depends only on the set of keys added, never on the order of Add and Merge calls, so the
// trained model does not depend on how the runner split the data. Fields are exported so a
// runner can encode it as a combiner accumulator.
type Sample struct {
	Max    int
	Points []Point // a max-heap on (Hash, Key) while filling; sorted by Points()
}

// NewSample returns an empty sample of at most max points.
func NewSample(max int) *Sample { return &Sample{Max: max} }

// SampleKey is the key to sample a customer by: customer id and currency, so the same
// customer is in or out of every run's sample.
func SampleKey(customerID, currency string) string { return customerID + "\x00" + currency }

// hashKey is FNV-1a 64 finished with the splitmix64 mixer (FNV alone is weak in the high
// bits for short keys).
func hashKey(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	z := h.Sum64() + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

type maxHeap []Point

func less(a, b *Point) bool {
	if a.Hash != b.Hash {
		return a.Hash < b.Hash
	}
	return a.Key < b.Key
}
func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return less(&h[j], &h[i]) }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(Point)) }
func (h *maxHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}

// Add offers one customer; x is copied only when the point is kept.
func (s *Sample) Add(key string, x []float64) {
	s.offer(Point{Hash: hashKey(key), Key: key, X: x}, true)
}

func (s *Sample) offer(p Point, copyX bool) {
	h := (*maxHeap)(&s.Points)
	if len(s.Points) >= s.Max {
		if s.Max <= 0 || !less(&p, &s.Points[0]) {
			return
		}
		heap.Pop(h)
	}
	if copyX {
		p.X = slices.Clone(p.X)
	}
	heap.Push(h, p)
}

// Merge adds o's points into s.
func (s *Sample) Merge(o *Sample) {
	if !heapOrdered(s.Points) {
		heap.Init((*maxHeap)(&s.Points))
	}
	for _, p := range o.Points {
		s.offer(p, false)
	}
}

func heapOrdered(p []Point) bool {
	for i := 1; i < len(p); i++ {
		if less(&p[(i-1)/2], &p[i]) {
			return false
		}
	}
	return true
}

// Sorted returns the points in (Hash, Key) order (it sorts s.Points in place; call Merge
// again only after re-adding).
func (s *Sample) Sorted() []Point {
	slices.SortFunc(s.Points, func(a, b Point) int {
		if less(&a, &b) {
			return -1
		}
		if less(&b, &a) {
			return 1
		}
		return 0
	})
	return s.Points
}
