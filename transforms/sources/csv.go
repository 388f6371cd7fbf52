package sources

import (
	"bytes"
	"fmt"
	"io"
	"unsafe"
)

// CSV reading: one byte-level scanner serves the header, the split planner and the split
// reader, so that where a split may start and how a record is read are decided by the
// same code from the same bytes, whatever the split size.
//
// The dialect is RFC 4180 with three leniencies: a line may end in CRLF or LF (a CR
// before the LF is dropped, also inside quotes), a '"' inside a field that did not start
// with one is an ordinary character, and blank lines (only spaces, tabs or CR) are skipped
// and not counted as rows.
//
// Damage stays local. A record whose quoting is broken (a quote closes a field and is
// followed by something other than a comma or a line end; a quoted field still open at the
// end of the file or after MaxRecordBytes), or whose quoted fields run over several lines
// and then give a field count other than the header's (the mark of an unterminated quote
// swallowing the next lines), is damaged: only its first physical line is reported (file,
// line, csv_syntax) and reading resumes on the next line. So an unterminated quote costs
// one dead letter per damaged line, never the rest of the file.

// MaxRecordBytes bounds one CSV record. Order, line, customer and spend rows are a few
// hundred bytes; a record still open after this many is an unterminated quote.
const MaxRecordBytes = 64 << 10

type unitKind int

const (
	unitRecord  unitKind = iota // a record: fields in csvScan.p
	unitBlank                   // a blank line
	unitDamaged                 // a damaged record: its first line is skipped (reason in csvScan.p.reason)
	unitEOF
)

// csvParser parses one record from the front of a byte window.
type csvParser struct {
	want       int  // the header's field count; 0 while reading the header
	boundsOnly bool // the planner only needs where records end

	buf    []byte // the record's unescaped field bytes (quoted records)
	fields []byte // what ends index: a line of the input itself (direct), or buf
	direct bool   // fields is the line: field i+1 starts after the comma at ends[i]
	ends   []int  // ends[i] is where field i ends in fields
	inner  int    // newlines inside quoted fields
	reason string // why the record is damaged
}

type parseStatus int

const (
	parsed parseStatus = iota
	parsedBlank
	needMore
	damaged
)

// parse parses the record at the front of b; atEOF says that b ends where the file ends.
// It returns the bytes the record takes with its line end and the physical lines it ends
// (its inner newlines plus its terminating one). Only the first MaxRecordBytes+1 bytes of b
// are looked at, so the outcome never depends on how much of the file a caller buffered.
func (p *csvParser) parse(b []byte, atEOF bool) (n int, lines int, st parseStatus) {
	if len(b) > MaxRecordBytes+1 {
		b, atEOF = b[:MaxRecordBytes+1], false
	}
	p.buf, p.ends, p.inner, p.reason = p.buf[:0], p.ends[:0], 0, ""
	p.fields, p.direct = nil, false
	nl := bytes.IndexByte(b, '\n')
	line := b
	switch {
	case nl >= 0:
		line, n, lines = b[:nl], nl+1, 1
	case atEOF:
		n = len(b)
	case len(b) > MaxRecordBytes:
		p.reason = fmt.Sprintf("a line longer than %d KiB", MaxRecordBytes>>10)
		return 0, 0, damaged
	default:
		return 0, 0, needMore
	}
	if bytes.IndexByte(line, '"') < 0 {
		// The common case: no quotes, the record is this line.
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if isBlank(line) {
			return n, lines, parsedBlank
		}
		if p.boundsOnly {
			return n, lines, parsed
		}
		// Fields point into the line itself: no copy.
		p.fields, p.direct = line, true
		for i, c := range line {
			if c == ',' {
				p.ends = append(p.ends, i)
			}
		}
		p.ends = append(p.ends, len(line))
		return n, lines, parsed
	}
	n, lines, st = p.parseQuoted(b, atEOF)
	p.fields = p.buf
	return n, lines, st
}

// parseQuoted is parse for a record with a quote on its first line.
func (p *csvParser) parseQuoted(b []byte, atEOF bool) (int, int, parseStatus) {
	i := 0
	for {
		if i < len(b) && b[i] == '"' { // a quoted field
			i++
			for {
				q := bytes.IndexByte(b[i:], '"')
				if q < 0 {
					if atEOF {
						p.reason = "a quoted field is never closed (an unterminated quote)"
						return 0, 0, damaged
					}
					if len(b) > MaxRecordBytes {
						p.reason = fmt.Sprintf("a quoted field is still open after %d KiB (an unterminated quote)", MaxRecordBytes>>10)
						return 0, 0, damaged
					}
					return 0, 0, needMore
				}
				p.appendQuoted(b[i : i+q])
				i += q + 1
				if i == len(b) && !atEOF {
					if len(b) > MaxRecordBytes {
						p.reason = fmt.Sprintf("a record longer than %d KiB", MaxRecordBytes>>10)
						return 0, 0, damaged
					}
					return 0, 0, needMore // "" (an escaped quote) or the closing one?
				}
				if i < len(b) && b[i] == '"' {
					p.buf = append(p.buf, '"')
					i++
					continue
				}
				break
			}
			p.ends = append(p.ends, len(p.buf))
			switch {
			case i == len(b): // end of file
				return p.end(i, 0)
			case b[i] == ',':
				i++
				continue
			case b[i] == '\n':
				return p.end(i+1, 1)
			case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
				return p.end(i+2, 1)
			case b[i] == '\r' && i+1 == len(b):
				if atEOF {
					return p.end(i+1, 0)
				}
				return 0, 0, needMore
			default:
				p.reason = "a quote closes a field but is not followed by a comma or the end of the line (a stray or unescaped quote)"
				return 0, 0, damaged
			}
		}
		// An unquoted field: up to the next comma or line end; quotes in it are literal.
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '\n' {
			j++
		}
		if j == len(b) && !atEOF {
			if len(b) > MaxRecordBytes {
				p.reason = fmt.Sprintf("a record longer than %d KiB", MaxRecordBytes>>10)
				return 0, 0, damaged
			}
			return 0, 0, needMore
		}
		f := b[i:j]
		if j == len(b) || b[j] == '\n' {
			if len(f) > 0 && f[len(f)-1] == '\r' {
				f = f[:len(f)-1]
			}
		}
		p.buf = append(p.buf, f...)
		p.ends = append(p.ends, len(p.buf))
		switch {
		case j == len(b):
			return p.end(j, 0)
		case b[j] == '\n':
			return p.end(j+1, 1)
		}
		i = j + 1
	}
}

// appendQuoted appends the inside of a quoted field, counting its newlines and dropping
// the CR of a CRLF.
func (p *csvParser) appendQuoted(s []byte) {
	for {
		k := bytes.IndexByte(s, '\n')
		if k < 0 {
			p.buf = append(p.buf, s...)
			return
		}
		p.inner++
		seg := s[:k]
		if len(seg) > 0 && seg[len(seg)-1] == '\r' {
			seg = seg[:len(seg)-1]
		}
		p.buf = append(p.buf, seg...)
		p.buf = append(p.buf, '\n')
		s = s[k+1:]
	}
}

// end finishes a record of n bytes that ends term line ends.
func (p *csvParser) end(n, term int) (int, int, parseStatus) {
	if n > MaxRecordBytes {
		p.reason = fmt.Sprintf("a record longer than %d KiB", MaxRecordBytes>>10)
		return 0, 0, damaged
	}
	if p.inner > 0 && p.want > 0 && len(p.ends) != p.want {
		p.reason = fmt.Sprintf("quoted fields run over %d lines and the record then has %d fields, the header %d (an unterminated quote?)",
			p.inner+1, len(p.ends), p.want)
		return 0, 0, damaged
	}
	return n, p.inner + term, parsed
}

// field returns field i of the parsed record. The string shares the scanner's buffers:
// it is valid until the next parse.
func (p *csvParser) field(i int) string {
	start := 0
	if i > 0 {
		start = p.ends[i-1]
		if p.direct {
			start++ // after the comma
		}
	}
	if p.ends[i] == start {
		return ""
	}
	return unsafe.String(&p.fields[start], p.ends[i]-start)
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// csvScan walks the units (records, blank lines, damaged lines) of a CSV byte stream.
type csvScan struct {
	r      io.Reader
	buf    []byte
	lo, hi int
	eof    bool
	off    int64 // file offset of buf[lo]
	line   int64 // physical line number at buf[lo]
	p      csvParser

	// Of the unit next returned:
	unitOff  int64
	unitLine int64
}

// newCSVScan scans r, which starts at file offset off on physical line line. size is how
// many bytes r holds (-1 when unknown): a smaller buffer than the usual 1 MiB is enough
// to hold all of a small input.
func newCSVScan(r io.Reader, off, line int64, size int64, want int, boundsOnly bool) *csvScan {
	n := int64(1 << 20)
	if size >= 0 && size < n {
		n = size + 1
	}
	return &csvScan{r: r, buf: make([]byte, n), off: off, line: line, p: csvParser{want: want, boundsOnly: boundsOnly}}
}

// fill reads until the buffer is full or the input ends.
func (s *csvScan) fill() error {
	if s.lo > 0 {
		copy(s.buf, s.buf[s.lo:s.hi])
		s.hi -= s.lo
		s.lo = 0
	}
	for s.hi < len(s.buf) && !s.eof {
		n, err := s.r.Read(s.buf[s.hi:])
		s.hi += n
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}

// next reads the next unit. For a record, s.p holds its fields until the next call.
func (s *csvScan) next() (unitKind, error) {
	s.unitOff, s.unitLine = s.off, s.line
	for {
		b := s.buf[s.lo:s.hi]
		if len(b) == 0 && s.eof {
			return unitEOF, nil
		}
		n, lines, st := s.p.parse(b, s.eof)
		switch st {
		case parsed, parsedBlank:
			s.advance(n, int64(lines))
			if st == parsedBlank {
				return unitBlank, nil
			}
			return unitRecord, nil
		case damaged:
			return unitDamaged, s.skipLine()
		}
		if len(b) == len(s.buf) {
			// parse looks at most MaxRecordBytes+1 bytes: a full buffer always decides.
			return 0, fmt.Errorf("csv: internal error: undecided record with a full buffer")
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
}

// skipLine moves past the current physical line.
func (s *csvScan) skipLine() error {
	for {
		b := s.buf[s.lo:s.hi]
		if k := bytes.IndexByte(b, '\n'); k >= 0 {
			s.advance(k+1, 1)
			return nil
		}
		s.advance(len(b), 0)
		if s.eof {
			return nil
		}
		if err := s.fill(); err != nil {
			return err
		}
	}
}

func (s *csvScan) advance(n int, lines int64) {
	s.lo += n
	s.off += int64(n)
	s.line += lines
}

// header reads the header row at the start of a file: a UTF-8 byte-order mark is skipped,
// leading blank lines too. It returns the column names (copied) and the offset and line
// where the data starts.
func (s *csvScan) header(path string) ([]string, error) {
	if err := s.fill(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if bytes.HasPrefix(s.buf[s.lo:s.hi], []byte("\ufeff")) {
		s.advance(3, 0)
	}
	for {
		kind, err := s.next()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		switch kind {
		case unitEOF:
			return nil, fmt.Errorf("%s: empty file (no header row)", path)
		case unitDamaged:
			return nil, fmt.Errorf("%s: line %d: the header row cannot be read: %s", path, s.unitLine, s.p.reason)
		case unitRecord:
			h := make([]string, len(s.p.ends))
			for i := range h {
				h[i] = string([]byte(s.p.field(i)))
			}
			return h, nil
		}
	}
}
