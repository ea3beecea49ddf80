#!/usr/bin/env python3
"""Writes fixtures/tokenizers/: a corpus with Unicode, whitespace runs, digits, code and emoji,
and small tokenizers trained on it by HF `tokenizers` and `sentencepiece` (the oracles
tools/tokenizer_check.py compares `xnor tokenize` against).

Run with a Python that has tokenizers and sentencepiece (tools/requirements.txt pins them):
    .venv/bin/python tools/gen_tokenizer_fixtures.py [--expected-only]
(--expected-only rewrites only the expected.json files from the committed tokenizers.)
The WordPiece and Unigram trainers break ties in hash order, so a rerun may give other (equally
valid) vocabularies; each run rewrites every fixture together with its expected.json.
"""
import json
import os
import random
import sys

import sentencepiece as spm
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "tokenizers")
SEPARATOR = "\n__xnor_tokenizer_test__\n"

PARAGRAPHS = [
    "The quick brown fox jumps over the lazy dog. It's 3:45pm, and we've got 1,234,567 reasons to stay!",
    "Don't you think they'll say \"it isn't so\"? I'm sure she'd agree; we're done, aren't we?",
    "Élégant café: naïve résumé, déjà vu, coöperate, Ångström, façade, São Paulo, Zürich, Kraków.",
    "Größe und Maße: Straße, Fußgänger, Übermaß — «Anführungszeichen» und „deutsche“ ‚Zeichen‘.",
    "Ελληνικά: Γειά σου κόσμε! Σίσυφος, ΣΙΣΥΦΟΣ. Русский текст: Привет, мир! Ёлка и ещё.",
    "中文文本：你好，世界！我们今天学习分词器。日本語：こんにちは、世界。カタカナとひらがな。",
    "한국어 문장입니다: 안녕하세요 세계! العربية: مرحبا بالعالم. हिन्दी: नमस्ते दुनिया। ไทย: สวัสดีชาวโลก",
    "Emoji: 😀 😃 😄 👍🏽 👩‍💻 🧑‍🤝‍🧑 🇫🇷 🇯🇵 ❤️ ✨🚀🔥 and text🙂mixed🎉together.",
    "Numbers: 0 1 12 123 1234 12345 123456 3.14159 2.71828 -42 +7 1e-10 0x1F 0b1010 ١٢٣ ４５６ ½ ²³",
    "Whitespace:  two  spaces,   three   spaces,\ttab,\t\ttwo tabs, trailing   \n\n\nthree newlines\r\nCRLF line.",
    "    indented four\n        indented eight\n\tand a tab\n \t \t mixed\n",
    "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i * i); } // C-style loop && x |= 0xFF;",
    "const url = 'https://example.com/path?query=value&x=1#frag'; email: someone@example.org",
    "SELECT id, name FROM users WHERE age >= 21 AND name LIKE '%son' ORDER BY id DESC;",
    "Combining: e\u0301 a\u0308 n\u0303 vs é ä ñ; zero\u200bwidth; non\u00a0breaking; ideographic\u3000space.",
    "Punctuation!!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} <<< >>> ~~~ ```",
    "Mixed CASE Words, camelCase, snake_case, kebab-case, SCREAMING_CASE, Title Case, iPhone, eBay.",
    "<|im_start|>user\nHello there!<|im_end|>\n<|im_start|>assistant\nHi! How can I help?<|im_end|>",
]


def corpus(seed=1234, copies=30):
    rng = random.Random(seed)
    lines = []
    for _ in range(copies):
        order = PARAGRAPHS[:]
        rng.shuffle(order)
        for p in order:
            words = p.split(" ")
            # Vary the paragraphs a little so the trainers see more than 19 strings.
            if rng.random() < 0.5:
                k = rng.randrange(len(words))
                words[k] = words[k] + str(rng.randrange(10000))
            if rng.random() < 0.3:
                words.insert(rng.randrange(len(words) + 1), " " * rng.randrange(1, 6))
            lines.append(" ".join(words))
    return lines


def test_texts():
    """The inputs tools/tokenizer_check.py tokenizes: every paragraph, pieces of them and
    edge cases (empty strings are not included: they separate nothing)."""
    texts = list(PARAGRAPHS)
    texts += [p[: len(p) // 2] for p in PARAGRAPHS]
    texts += [" ", "  ", "\n", " \n ", "a", " a", "a ", "   leading", "trailing   ", "\t\t", "1234567890",
              "Hello world", " Hello world", "Hello  world", "HELLO WORLD", "hello\nworld", "🙂", "👩‍💻👩‍💻",
              "ǅ ǈ ǋ", "İstanbul", "ΣΑΣ σας", "x" * 300, " ".join(["word"] * 50), "日本語" * 20]
    return texts


def train_bpe(lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer)
    return tok


def train_bpe_digits(lines):
    """SmolLM's shape: individual digits, then byte-level BPE; BOS added by a template."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=900, special_tokens=["<s>", "</s>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def train_wordpiece(lines):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=1000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        show_progress=False)
    tok.train_from_iterator(lines, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return tok


def train_unigram(lines):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=800, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>",
                                      show_progress=False)
    tok.train_from_iterator(lines, trainer)
    return tok


def train_sentencepiece(lines, model_type, prefix, vocab_size, byte_fallback):
    text_path = prefix + ".txt"
    with open(text_path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line.replace("\n", " ") + "\n")
    spm.SentencePieceTrainer.train(input=text_path, model_prefix=prefix, model_type=model_type, vocab_size=vocab_size,
                                   byte_fallback=byte_fallback, character_coverage=1.0, num_threads=1, seed_sentencepiece_size=100000,
                                   minloglevel=2, user_defined_symbols=["<|im_start|>", "<|im_end|>"])
    os.remove(text_path)
    os.remove(prefix + ".vocab")


def write_expected():
    """expected.json beside each fixture: the libraries' ids (with and without the special tokens
    they add) and decoded text for every corpus text, for the Swift tests to compare against
    without running Python. The same conventions as tools/tokenizer_check.py."""
    from tokenizer_check import hf_oracles  # the script's own folder is first on sys.path
    texts = open(os.path.join(OUT, "corpus.txt"), encoding="utf-8", newline="").read().split(SEPARATOR)
    for name, path, (encode, decode) in hf_oracles():
        cases = []
        for text in texts:
            plain = encode(text, False)
            cases.append({"ids": plain, "ids_special": encode(text, True), "decoded": decode(plain)})
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
            json.dump({"texts": texts, "cases": cases}, f, ensure_ascii=False, separators=(",", ":"))


def main():
    if sys.argv[1:] == ["--expected-only"]:
        write_expected()
        return
    os.makedirs(OUT, exist_ok=True)
    lines = corpus()
    with open(os.path.join(OUT, "corpus.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(SEPARATOR.join(test_texts()))
    for name, train in [("bpe-bytelevel", train_bpe), ("bpe-digits", train_bpe_digits), ("wordpiece", train_wordpiece),
                        ("unigram", train_unigram)]:
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        train(lines).save(os.path.join(folder, "tokenizer.json"))
    # tokenizer_config.json: what transformers keeps beside tokenizer.json.
    with open(os.path.join(OUT, "bpe-digits", "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "<|im_end|>", "add_bos_token": True,
                   "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"}, f, indent=1)
    # The same WordPiece vocabulary as a BERT vocab.txt folder.
    wp = json.load(open(os.path.join(OUT, "wordpiece", "tokenizer.json")))
    vocab = sorted(wp["model"]["vocab"].items(), key=lambda kv: kv[1])
    os.makedirs(os.path.join(OUT, "bert-vocab"), exist_ok=True)
    with open(os.path.join(OUT, "bert-vocab", "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t, _ in vocab))
    with open(os.path.join(OUT, "bert-vocab", "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True}, f)
    for name, kind, size, fallback in [("spm-bpe", "bpe", 600, True), ("spm-unigram", "unigram", 400, False)]:
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        train_sentencepiece(lines, kind, os.path.join(folder, "tokenizer"), size, fallback)
    write_expected()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    sys.exit(main())
