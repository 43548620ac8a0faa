//! BIP-39 recovery phrases (English word list).

use core::fmt;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// How many words a new phrase has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordCount {
    /// 12 words, 128 bits of entropy.
    Twelve,
    /// 24 words, 256 bits of entropy.
    TwentyFour,
}

impl WordCount {
    /// Entropy length in bytes.
    pub const fn entropy_len(self) -> usize {
        match self {
            Self::Twelve => 16,
            Self::TwentyFour => 32,
        }
    }

    /// Maps 12 or 24 to a word count.
    pub fn from_words(words: usize) -> Result<Self> {
        match words {
            12 => Ok(Self::Twelve),
            24 => Ok(Self::TwentyFour),
            got => Err(Error::WordCount { got }),
        }
    }
}

/// A valid BIP-39 phrase. Zeroized on drop (by `bip39`); `Debug` shows only the word count.
#[derive(Clone, PartialEq, Eq)]
pub struct Mnemonic(bip39::Mnemonic);

impl Mnemonic {
    /// A new phrase from the given CSPRNG.
    ///
    /// BIP-39 by hand around the `bip39` crate's word list: entropy, then the
    /// first ENT/32 bits of its SHA-256 (the `sha2` the module already links;
    /// the crate's own checksum brings a second SHA-256, bitcoin_hashes, of
    /// ~3 KB gzipped into wasm), read as 11-bit word indices. Trezor's vectors
    /// and a differential test against the crate check it.
    pub fn generate(rng: &mut impl CryptoRngCore, words: WordCount) -> Self {
        let n = words.entropy_len();
        let mut bits = Zeroizing::new([0u8; 33]);
        rng.fill_bytes(&mut bits[..n]);
        bits[n] = checksum_byte(&bits[..n]);
        // The English list is sorted, so the words with the empty prefix are
        // the whole list, in order (the crate's own copy: see `parse`).
        let list = bip39::Language::English.words_by_prefix("");
        let count = (n * 8 + n / 4) / 11;
        let mut phrase = Zeroizing::new(String::with_capacity(count * 9));
        for i in 0..count {
            if i > 0 {
                phrase.push(' ');
            }
            phrase.push_str(list[word_index(&bits[..], i)]);
        }
        Self::parse(&phrase).expect("a phrase made from the word list with its checksum is valid")
    }

    /// Parses a phrase typed or pasted by a user: case and extra whitespace are
    /// forgiven, anything else is reported precisely.
    pub fn parse(phrase: &str) -> Result<Self> {
        let mut normalized = Zeroizing::new(String::with_capacity(phrase.len()));
        let mut count = 0usize;
        for word in phrase.split_whitespace() {
            if count > 0 {
                normalized.push(' ');
            }
            // English words are ASCII; lowercase in place avoids an unzeroized copy.
            for c in word.chars() {
                normalized.push(c.to_ascii_lowercase());
            }
            count += 1;
        }
        if !matches!(count, 12 | 15 | 18 | 21 | 24) {
            return Err(Error::WordCount { got: count });
        }
        // Every word is looked up first, so the first unknown word is reported
        // (made 1-based here) ahead of a bad checksum. The word list is only
        // touched inside the bip39 crate: an inlined `word_list()` here would
        // link a second copy of it (27 KB) into wasm.
        let m = bip39::Mnemonic::parse_in_normalized_without_checksum_check(
            bip39::Language::English,
            &normalized,
        )
        .map_err(|e| match e {
            bip39::Error::BadWordCount(got) => Error::WordCount { got },
            bip39::Error::UnknownWord(i) => Error::UnknownWord { position: i + 1 },
            _ => Error::Checksum,
        })?;
        // The checksum: the last word's low ENT/32 bits are the first ENT/32
        // bits of SHA-256(entropy).
        let (entropy, len) = m.to_entropy_array();
        let entropy = Zeroizing::new(entropy);
        let width = count / 3;
        if checksum_byte(&entropy[..len]) >> (8 - width) != m.checksum() {
            return Err(Error::Checksum);
        }
        Ok(Self(m))
    }

    /// Number of words.
    pub fn word_count(&self) -> usize {
        self.0.word_count()
    }

    /// The words, space separated. The caller decides where they may be shown.
    pub fn phrase(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.to_string())
    }

    /// The words, one by one (for "confirm word 3, 7 and 11").
    pub fn words(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.words()
    }

    /// BIP-39 seed: PBKDF2-HMAC-SHA512, 2048 rounds, over the phrase, salt
    /// "mnemonic" + the NFKD-normalized passphrase (empty for none). See
    /// [`normalize_passphrase`].
    ///
    /// RustCrypto's `pbkdf2` with the `sha2` SHA-512 that BIP-32 already links,
    /// rather than the `bip39` crate's `to_seed`, which brings a second SHA-512
    /// (bitcoin_hashes) into the wasm module. Trezor's vectors check both agree.
    pub fn to_seed(&self, passphrase: &str) -> Seed {
        let salt = Zeroizing::new(format!("mnemonic{}", &*normalize_passphrase(passphrase)));
        let mut seed = Zeroizing::new([0u8; 64]);
        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(
            self.phrase().as_bytes(),
            salt.as_bytes(),
            2048,
            &mut *seed,
        );
        Seed(seed)
    }
}

/// The first byte of SHA-256(entropy): its top ENT/32 bits are the checksum.
fn checksum_byte(entropy: &[u8]) -> u8 {
    use sha2::Digest;
    sha2::Sha256::digest(entropy)[0]
}

/// The `i`-th 11-bit group of `bits`, most significant bit first.
fn word_index(bits: &[u8], i: usize) -> usize {
    let start = i * 11;
    let mut v = 0usize;
    for b in start..start + 11 {
        let bit = (bits[b / 8] >> (7 - b % 8)) & 1;
        v = (v << 1) | usize::from(bit);
    }
    v
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mnemonic({} words)", self.word_count())
    }
}

/// NFKD form of a passphrase, as BIP-39 requires.
///
/// With the `unicode-normalization` feature (default) this normalizes. Without
/// it, the text is returned as is and the caller must already have normalized
/// it: the wasm build does so with the browser's `String.prototype.normalize`.
pub fn normalize_passphrase(passphrase: &str) -> Zeroizing<String> {
    #[cfg(feature = "unicode-normalization")]
    {
        use unicode_normalization::UnicodeNormalization;
        Zeroizing::new(passphrase.nfkd().collect())
    }
    #[cfg(not(feature = "unicode-normalization"))]
    {
        Zeroizing::new(passphrase.to_owned())
    }
}

/// A 64-byte BIP-39 seed, input to BIP-32.
pub struct Seed(Zeroizing<[u8; 64]>);

impl Seed {
    /// Wraps raw seed bytes (BIP-32 test vectors use seeds not made from phrases).
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The seed bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(..)")
    }
}
