#pragma once
/// @file
/// Unicode normalization forms NFD, NFC, NFKD and NFKC (UAX #15: full canonical or compatibility
/// decomposition, canonical ordering by combining class, canonical composition that skips the
/// composition exclusions, Hangul by the algorithm), as the Hugging Face tokenizer.json
/// normalizers of those names apply them. Tables in tokenizers/unicode_norm_data.hpp, read off
/// Node.js's String.prototype.normalize by tools/make_unicode_norm_tables.js.
///
/// The work is split at boundaries: code points whose decomposition starts with a starter that
/// never combines with what precedes it, so that no reordering or composition reaches across
/// them. A stretch between two boundaries whose code points all pass the form's quick check
/// (NFx_QC = Yes) and are in canonical order is already normalized and is copied as it is; the
/// others are decomposed, reordered and (NFC, NFKC) composed on their own. ASCII passes at once,
/// and so does most text in NFC (precomposed accents, CJK, Hangul syllables).

// unicode.hpp: decode_utf8 and encode_utf8, which callers pair with normalize().
#include <eigenformer/tokenizers/unicode.hpp>
#include <eigenformer/tokenizers/unicode_norm_data.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace eigenformer::tokenizers::unicode {

/// The four Unicode normalization forms.
enum class normal_form {
  nfd,   ///< canonical decomposition
  nfc,   ///< canonical decomposition, then canonical composition
  nfkd,  ///< compatibility decomposition
  nfkc,  ///< compatibility decomposition, then canonical composition
};

namespace norm_detail {

namespace nd = unicode_norm_data;

inline constexpr char32_t s_base = 0xac00, l_base = 0x1100, v_base = 0x1161, t_base = 0x11a7;
inline constexpr char32_t l_count = 19, v_count = 21, t_count = 28, n_count = v_count * t_count,
                          s_count = l_count * n_count;

/// The record of @p c. Values that are not scalar values (surrogates, above U+10FFFF) have
/// record 0, as everything past the table does: class 0, no decomposition, every quick check Yes.
inline const nd::record& record_of(char32_t c) noexcept {
  if (c >= nd::stage_limit) return nd::records[0];
  const std::size_t block = nd::stage1[c >> nd::stage_shift];
  return nd::records[nd::stage2[(block << nd::stage_shift) | (c & nd::stage_mask)]];
}

/// What a form reads from a record.
struct form_traits {
  std::uint16_t yes;       ///< quick-check Yes flag
  std::uint16_t boundary;  ///< boundary flag
  bool compatibility;      ///< NFKx: compatibility decompositions
  bool compose;            ///< NFC, NFKC: canonical composition after ordering
};
constexpr form_traits traits(normal_form f) noexcept {
  switch (f) {
    case normal_form::nfd:
      return {nd::nfd_yes, nd::boundary_d, false, false};
    case normal_form::nfc:
      return {nd::nfc_yes, nd::boundary_c, false, true};
    case normal_form::nfkd:
      return {nd::nfkd_yes, nd::boundary_kd, true, false};
    case normal_form::nfkc:
      return {nd::nfkc_yes, nd::boundary_kc, true, true};
  }
  return {nd::nfd_yes, nd::boundary_d, false, false};
}

/// The primary composite of @p a and @p b (b's record: @p rb), or 0 when they do not compose.
inline char32_t compose_pair(char32_t a, char32_t b, const nd::record& rb) noexcept {
  if (!(rb.flags & nd::combines_back)) return 0;  // the common case: b is second of no pair
  if (a - l_base < l_count && b - v_base < v_count)
    return s_base + ((a - l_base) * v_count + (b - v_base)) * t_count;
  if (a - s_base < s_count && (a - s_base) % t_count == 0 && b - t_base - 1 < t_count - 1)
    return a + (b - t_base);
  const auto* it =
      std::lower_bound(std::begin(nd::compositions), std::end(nd::compositions), std::pair{a, b},
                       [](const nd::composition& p, const std::pair<char32_t, char32_t>& k) {
                         return p.first != k.first ? p.first < k.first : p.second < k.second;
                       });
  return it != std::end(nd::compositions) && it->first == a && it->second == b ? it->composite : 0;
}

/// Builds one normalized string. Origins are kept only when @p origin is not null.
class normalizer {
 public:
  normalizer(std::u32string_view s, normal_form f, std::vector<std::size_t>* origin)
      : s_(s), t_(traits(f)), origin_(origin) {}

  std::u32string run() {
    const std::size_t n = s_.size();
    // chunk: start of the stretch since the last boundary; clean: nothing in it so far needs work.
    std::size_t chunk = 0;
    bool clean = true;
    std::uint8_t last_ccc = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const char32_t c = s_[i];
      if (c < 0x80) {  // ASCII: a boundary, class 0, unchanged by every form
        if (!clean) flush(chunk, i);
        clean = true;
        chunk = i;
        last_ccc = 0;
        continue;
      }
      const nd::record& r = record_of(c);
      if (r.flags & t_.boundary) {
        if (!clean) flush(chunk, i);
        clean = true;
        chunk = i;
      }
      if (!(r.flags & t_.yes) || (r.ccc != 0 && r.ccc < last_ccc)) clean = false;
      last_ccc = r.ccc;
    }
    if (!clean) flush(chunk, n);
    if (copied_ == 0) {  // nothing needed work: the input is already in the form
      if (origin_) identity(0, n);
      return std::u32string(s_);
    }
    copy_through(n);
    return std::move(out_);
  }

 private:
  // Appends s_[copied_, end) unchanged.
  void copy_through(std::size_t end) {
    if (out_.empty() && out_.capacity() == 0) out_.reserve(s_.size() + s_.size() / 4 + 8);
    out_.append(s_.substr(copied_, end - copied_));
    if (origin_) identity(copied_, end);
    copied_ = end;
  }
  void identity(std::size_t from, std::size_t to) {
    const std::size_t at = origin_->size();
    origin_->resize(at + (to - from));
    std::iota(origin_->begin() + std::ptrdiff_t(at), origin_->end(), from);
  }
  void push(char32_t c, std::size_t from) {
    out_.push_back(c);
    if (origin_) origin_->push_back(from);
  }

  // Normalizes s_[b, e), a stretch from one boundary to the next, after what comes before it.
  void flush(std::size_t b, std::size_t e) {
    copy_through(b);
    const std::size_t o = out_.size();
    bool ordered = true;
    std::uint8_t last_ccc = 0;
    auto add = [&](char32_t c, std::size_t from) {
      const std::uint8_t cc = record_of(c).ccc;
      if (cc != 0 && cc < last_ccc) ordered = false;
      last_ccc = cc;
      push(c, from);
    };
    for (std::size_t i = b; i < e; ++i) {
      const char32_t c = s_[i];
      if (c - s_base < s_count) {
        const char32_t k = c - s_base;
        push(l_base + k / n_count, i);
        push(v_base + (k % n_count) / t_count, i);
        if (k % t_count) push(t_base + k % t_count, i);
        last_ccc = 0;
        continue;
      }
      const nd::record& r = record_of(c);
      const unsigned len = t_.compatibility ? r.lengths >> 3 : r.lengths & 7u;
      if (len == 0) {
        add(c, i);
      } else {
        const char32_t* d =
            nd::decomposition_pool + (t_.compatibility ? r.compatibility : r.canonical);
        for (unsigned k = 0; k < len; ++k) add(d[k], i);
      }
    }
    if (!ordered) reorder(o);
    if (t_.compose) compose(o);
    copied_ = e;
  }

  // Canonical ordering of out_[o, end): each run of non-starters stably sorted by class.
  void reorder(std::size_t o) {
    const std::size_t n = out_.size();
    std::size_t i = o;
    while (i < n) {
      if (record_of(out_[i]).ccc == 0) {
        ++i;
        continue;
      }
      std::size_t j = i + 1;
      while (j < n && record_of(out_[j]).ccc != 0) ++j;
      if (j - i > 1) sort_run(i, j);
      i = j;
    }
  }
  void sort_run(std::size_t b, std::size_t e) {
    constexpr std::size_t small = 32;
    if (e - b <= small) {
      // Insertion sort: runs of marks in text are a handful long.
      std::uint8_t key[small];
      for (std::size_t i = b; i < e; ++i) key[i - b] = record_of(out_[i]).ccc;
      for (std::size_t i = b + 1; i < e; ++i) {
        const std::uint8_t k = key[i - b];
        const char32_t c = out_[i];
        const std::size_t from = origin_ ? (*origin_)[i] : 0;
        std::size_t j = i;
        for (; j > b && key[j - 1 - b] > k; --j) {
          key[j - b] = key[j - 1 - b];
          out_[j] = out_[j - 1];
          if (origin_) (*origin_)[j] = (*origin_)[j - 1];
        }
        key[j - b] = k;
        out_[j] = c;
        if (origin_) (*origin_)[j] = from;
      }
      return;
    }
    // A long run (crafted input, thousands of marks on one letter) would make insertion sort
    // quadratic: a stable sort on a scratch copy instead.
    std::vector<std::tuple<std::uint8_t, char32_t, std::size_t>> run;
    run.reserve(e - b);
    for (std::size_t i = b; i < e; ++i)
      run.emplace_back(record_of(out_[i]).ccc, out_[i], origin_ ? (*origin_)[i] : 0);
    std::stable_sort(run.begin(), run.end(),
                     [](const auto& x, const auto& y) { return std::get<0>(x) < std::get<0>(y); });
    for (std::size_t i = b; i < e; ++i) {
      out_[i] = std::get<1>(run[i - b]);
      if (origin_) (*origin_)[i] = std::get<2>(run[i - b]);
    }
  }

  // Canonical composition of out_[o, end), in place: each code point joins the last starter
  // when nothing between them blocks it (a starter, or a mark of the same or a higher class).
  void compose(std::size_t o) {
    const std::size_t n = out_.size();
    if (n - o < 2) return;
    constexpr std::size_t none = ~std::size_t(0);
    std::size_t starter = record_of(out_[o]).ccc == 0 ? o : none;
    std::uint8_t last_ccc = record_of(out_[o]).ccc;  // class of the last code point kept
    std::size_t w = o + 1;
    for (std::size_t i = o + 1; i < n; ++i) {
      const char32_t c = out_[i];
      const nd::record& r = record_of(c);
      if (starter != none && (w == starter + 1 || (last_ccc != 0 && last_ccc < r.ccc))) {
        if (const char32_t composite = compose_pair(out_[starter], c, r)) {
          out_[starter] = composite;  // keeps the starter's origin
          continue;
        }
      }
      if (r.ccc == 0) starter = w;
      last_ccc = r.ccc;
      out_[w] = c;
      if (origin_) (*origin_)[w] = (*origin_)[i];
      ++w;
    }
    out_.resize(w);
    if (origin_) origin_->resize(w);
  }

  std::u32string_view s_;
  form_traits t_;
  std::vector<std::size_t>* origin_;
  std::u32string out_;
  std::size_t copied_ = 0;  // s_[0, copied_) is accounted for in out_
};

}  // namespace norm_detail

/// Canonical combining class of @p c (0 for starters, and for values that are not scalar values).
inline std::uint8_t combining_class(char32_t c) noexcept { return norm_detail::record_of(c).ccc; }

/// Normalizes @p s (code points) to form @p f. Pure: besides the result it allocates only for a
/// run of more than 32 combining marks on one base. Values in @p s that are not Unicode scalar
/// values (surrogates, above U+10FFFF) are passed through unchanged, as starters (class 0, so
/// they block composition across them, as ICU and so Node treat a lone surrogate).
inline std::u32string normalize(std::u32string_view s, normal_form f) {
  return norm_detail::normalizer(s, f, nullptr).run();
}

/// normalize() that also tells where each output code point comes from, for offset tracking
/// (what HF tokenizers' NormalizedString keeps as the alignment of each output character).
/// On return out_origin.size() == result.size(), and out_origin[k] is the index into @p s of the
/// input code point whose decomposition produced result[k]; a composed code point has the index
/// of its starter (the first code point of the composition: the one it replaced, not the marks
/// that joined it). Reordering of marks makes the sequence not necessarily nondecreasing:
/// a U+0301 U+0323 -> NFD a U+0323 U+0301 has origins 0, 2, 1. Input code points that vanish
/// (marks composed into a starter) have no output code point naming them. @p out_origin's
/// previous content is replaced.
inline std::u32string normalize(std::u32string_view s, normal_form f,
                                std::vector<std::size_t>& out_origin) {
  out_origin.clear();
  out_origin.reserve(s.size());
  return norm_detail::normalizer(s, f, &out_origin).run();
}

}  // namespace eigenformer::tokenizers::unicode
