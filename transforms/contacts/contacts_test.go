package contacts

import (
	"slices"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/orders"
)

// Expected hashes below were computed outside the code with `printf %s VALUE | sha256sum`
// (or md5sum) from the normalised values in shared/docs/ad-platforms.md; the ones the doc
// prints are copied from the doc.
const (
	hAlexz        = "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a" // alexz@example.com (doc)
	hCloudy       = "223ebda6f6889b1494551ba902d9d381daf2f642bae055888e96343d53e9f9c4" // cloudysanfrancisco@gmail.com
	hCloudyPlain  = "8dd4a9bf850242873c14976125edabc35096192b784626a5641a7d2de56e3c1e" // cloudy.sanfrancisco+shopping@gmail.com
	hJefferson    = "2824967181c781aced84c32bf8bb51fc6401202eeff88263776f63c99df9314c" // jeffersonloveshiking@googlemail.com
	hUserName     = "f109a2a632fbcea5fc82049f50beed3d8621bf9034399f437fb622222acccdac" // user.name+nyc@example.com
	hPlus1800     = "fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30" // +18005550100 (doc)
	h1800         = "92cfdc5fbcd4a20fbe5d3857af6c1aba31762105bba7f21a17155e920653046c" // 18005550100
	hPlus44       = "0fac52d27ec377f8ad2f9de75d1f9bace693237e31868ae6f4616b8bbd0e94fb" // +441134960987
	h44           = "0d0bdab1b69302da54eab62fafae55faadba503c4a51b870a57a34959d645be9" // 441134960987
	hRU           = "22846ab8f79870871eb44f653419a4a5069301827d8ae75b6c2a88e4989a364e" // 79995551111
	hPlusRU       = "86cc60992d2e0fde2e5511d462b755057f8f5c6b259a1ff7c2eee2ea284eb113" // +79995551111
	hRUmd5        = "f09f2c3d48f31e2a802944ade2e5aec5"                                 // md5 79995551111
	hYandexName   = "41b86f44151924a940be6fa30d93f2471683ca74ac361d3b827a9b72c80a7623" // name@yandex.ru (doc)
	hYandexNameMD = "0e90d6d575f846f977e56490668b2c13"                                 // md5 name@yandex.ru
	h70123456789  = "8f0dd3d30a1ea4b739c6217c02604aee1556025da990212759efd877206a1948" // 70123456789 (doc)
)

func newHasher(t testing.TB, cfg Config) *Hasher {
	t.Helper()
	h, err := NewHasher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func customer(email, phone, country string) orders.Customer {
	return orders.Customer{CustomerID: "c1", Email: email, Phone: phone, Country: country, MarketingConsent: true}
}

func TestEmailVectors(t *testing.T) {
	h := newHasher(t, Defaults())
	cases := []struct {
		in                 string
		yandex, vk, google string
	}{
		{"  ALEXZ@example.com   ", hAlexz, "", hAlexz},
		{"Cloudy.SanFrancisco+shopping@gmail.com", hCloudyPlain, "", hCloudy},
		{"Jefferson.LOVES.Hiking@googlemail.com", "", "", hJefferson},
		{"user.name+NYC@Example.com", hUserName, "", hUserName},
		{"name@yandex.ru", hYandexName, hYandexNameMD, hYandexName},
	}
	for _, c := range cases {
		got, rej := h.Hash(customer(c.in, "", ""))
		if rej != nil {
			t.Errorf("%q: rejects %v", c.in, rej)
			continue
		}
		if got.Email[Google] != c.google {
			t.Errorf("%q: google = %s, want %s", c.in, got.Email[Google], c.google)
		}
		if c.yandex != "" && (got.Email[Yandex] != c.yandex || got.Email[Meta] != c.yandex) {
			t.Errorf("%q: yandex/meta = %s/%s, want %s", c.in, got.Email[Yandex], got.Email[Meta], c.yandex)
		}
		if c.vk != "" && got.Email[VK] != c.vk {
			t.Errorf("%q: vk = %s, want %s", c.in, got.Email[VK], c.vk)
		}
	}
}

func TestPhoneVectors(t *testing.T) {
	h := newHasher(t, Defaults())
	cases := []struct {
		in, country    string
		digits, google string
		vk             string
	}{
		{"1 800 555 0100", "US", h1800, hPlus1800, ""},
		{"(800)555-0100", "US", h1800, hPlus1800, ""},
		{"+44-113-496-0987", "", h44, hPlus44, ""},
		{"7 (999) 555-11-11", "", hRU, hPlusRU, hRUmd5},
		{"8 (999) 555-11-11", "", hRU, hPlusRU, hRUmd5},
		{"+7 999 555-11-11", "", hRU, hPlusRU, hRUmd5},
		{"9995551111", "", hRU, hPlusRU, hRUmd5},
		{"9995551111", "RU", hRU, hPlusRU, hRUmd5},
		{"+7 999 555-11-11", "US", hRU, hPlusRU, hRUmd5},  // explicit + wins over the country
		{"8 (999) 555-11-11", "XX", hRU, hPlusRU, hRUmd5}, // unknown country → default region
	}
	for _, c := range cases {
		got, rej := h.Hash(customer("", c.in, c.country))
		if rej != nil {
			t.Errorf("%q/%q: rejects %v", c.in, c.country, rej)
			continue
		}
		for _, p := range []Profile{Yandex, Meta} {
			if got.Phone[p] != c.digits {
				t.Errorf("%q/%q: %s = %s, want %s", c.in, c.country, p, got.Phone[p], c.digits)
			}
		}
		if got.Phone[Google] != c.google {
			t.Errorf("%q/%q: google = %s, want %s", c.in, c.country, got.Phone[Google], c.google)
		}
		if c.vk != "" && got.Phone[VK] != c.vk {
			t.Errorf("%q/%q: vk = %s, want %s", c.in, c.country, got.Phone[VK], c.vk)
		}
	}
}

// The doc's `70123456789` vector is a normalised value → hash pair. As raw input it is not a
// valid Russian number (no 0xx ranges exist), so Hash rejects it rather than upload noise.
func TestNormalisedVector70123456789(t *testing.T) {
	if got := hashHex(HashSHA256, "70123456789"); got != h70123456789 {
		t.Errorf("sha256(70123456789) = %s, want %s", got, h70123456789)
	}
	h := newHasher(t, Defaults())
	for _, in := range []string{"70123456789", "+7 012 345 67 89"} {
		_, rej := h.Hash(customer("", in, "RU"))
		if !slices.Equal(rej, []string{ReasonPhoneInvalid}) {
			t.Errorf("%q: rejects %v, want [phone_invalid]", in, rej)
		}
	}
}

func TestVKSHA256(t *testing.T) {
	h := newHasher(t, Config{DefaultRegion: "RU", VKHash: HashSHA256})
	got, _ := h.Hash(customer("name@yandex.ru", "8 999 555 11 11", ""))
	if got.Email[VK] != hYandexName || got.Phone[VK] != hRU {
		t.Errorf("vk sha256 = %s / %s, want %s / %s", got.Email[VK], got.Phone[VK], hYandexName, hRU)
	}
}

func TestRejects(t *testing.T) {
	h := newHasher(t, Defaults())
	noRegion := newHasher(t, Config{})
	cases := []struct {
		h            *Hasher
		c            orders.Customer
		want         []string
		email, phone bool // which identifiers survive
	}{
		{h, customer("a@b.co", "abc", ""), []string{ReasonPhoneUnparseable}, true, false},
		{h, customer("a@b.co", "12", ""), []string{ReasonPhoneInvalid}, true, false},
		{h, customer("not-an-email", "+7 999 555-11-11", ""), []string{ReasonEmailInvalid}, false, true},
		{h, customer("a b@c.com", "", ""), []string{ReasonEmailInvalid}, false, false},
		{h, customer("a@@c.com", "", ""), []string{ReasonEmailInvalid}, false, false},
		{h, customer("a@localhost", "", ""), []string{ReasonEmailInvalid}, false, false},
		{h, customer("@c.com", "", ""), []string{ReasonEmailInvalid}, false, false},
		{h, customer("a@c..com", "", ""), []string{ReasonEmailInvalid}, false, false},
		{h, customer("<a@c.com>", "", ""), []string{ReasonEmailInvalid}, false, false},
		{h, customer("x@", "--", ""), []string{ReasonEmailInvalid, ReasonPhoneUnparseable}, false, false},
		{h, customer("  ", "", ""), []string{ReasonNoContacts}, false, false},
		{h, orders.Customer{Email: "a@b.co", Phone: "+7 999 555-11-11"}, []string{ReasonNoConsent}, false, false},
		{noRegion, customer("", "9995551111", ""), []string{ReasonPhoneUnparseable}, false, false},
		{h, customer("A@B.CO", "+79995551111", ""), nil, true, true},
	}
	for i, c := range cases {
		got, rej := c.h.Hash(c.c)
		if !slices.Equal(rej, c.want) {
			t.Errorf("case %d: rejects %v, want %v", i, rej, c.want)
		}
		for p := Profile(0); p < NumProfiles; p++ {
			if (got.Email[p] != "") != c.email || (got.Phone[p] != "") != c.phone {
				t.Errorf("case %d %s: email %q phone %q, want present %v/%v", i, p, got.Email[p], got.Phone[p], c.email, c.phone)
			}
		}
	}
}

// Reject reasons and hashes must never carry the raw value.
func TestNoRawValuesInOutput(t *testing.T) {
	h := newHasher(t, Defaults())
	raw := []string{"Secret.Person@Example.com", "+7 999 555-11-11", "bad email@x", "999"}
	for _, e := range raw {
		for _, p := range raw {
			got, rej := h.Hash(customer(e, p, ""))
			all := strings.Join(rej, " ") + strings.Join(got.Email[:], " ") + strings.Join(got.Phone[:], " ")
			for _, r := range []string{"secret", "Secret", "9995551111", "bad email", " 999"} {
				if strings.Contains(all, r) {
					t.Errorf("output for %q/%q contains %q", e, p, r)
				}
			}
		}
	}
}

func TestProfileOf(t *testing.T) {
	for _, n := range []string{"yandex", "vk", "meta", "google"} {
		p, ok := ProfileOf(n)
		if !ok || p.String() != n {
			t.Errorf("ProfileOf(%q) = %v, %v", n, p, ok)
		}
	}
	if _, ok := ProfileOf("metaa"); ok {
		t.Error("metaa accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Defaults(), ""},
		{Config{}, ""},
		{Config{DefaultRegion: "us", VKHash: "sha256"}, ""},
		{Config{VKHash: "none"}, `contacts.vk_hash: "none" is not allowed`},
		{Config{VKHash: "sha1"}, `contacts.vk_hash: unknown algorithm "sha1" (known: md5, sha256)`},
		{Config{DefaultRegion: "XX"}, `contacts.default_region: unknown region "XX"`},
	}
	for _, c := range cases {
		err := c.cfg.Validate("contacts")
		if c.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.cfg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := NewHasher(Config{VKHash: "none"}); err == nil {
		t.Error("NewHasher accepted vk_hash none")
	}
}

var sink Hashed

// BenchmarkHash measures one typical customer: mixed-case e-mail and a formatted RU phone.
func BenchmarkHash(b *testing.B) {
	benchHash(b, "Ivan.Petrov@Example.com", "8 (999) 555-11-11")
}

// benchHash hashes one RU customer with the default config.
func benchHash(b *testing.B, email, phone string) {
	h := newHasher(b, Defaults())
	c := customer(email, phone, "RU")
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = h.Hash(c)
	}
}

// BenchmarkHashEmailOnly isolates the e-mail path (no phone parsing).
func BenchmarkHashEmailOnly(b *testing.B) { benchHash(b, "ivan.petrov@example.com", "") }
