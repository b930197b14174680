"""Text normalisation and pinyin helpers.

Everything here is pure and cached; the pinyin table (pypinyin's per-character dictionary,
~0.1 s to import) is loaded on first use only.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

_T2S_PATH = Path(__file__).with_name("t2s.txt")

# Toneless syllables that can be typed; single consonants (m, n, ng, hm) are left out so that
# keyboard mashing like "qwerty" or "asdfgh" is not mistaken for pinyin.
_SYLLABLES = frozenset(
    """a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can
    cang cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua
    chuai chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de
    dei den deng di dia dian diao die ding diu dong dou du duan dui dun duo e ei en eng er
    fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua
    guai guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai
    huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka
    kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan
    lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo
    lv lve lue ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu
    na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan
    nun nuo nv nve nue o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping po
    pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren
    reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan
    shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si
    song sou su suan sui sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou
    tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin
    xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue
    yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi
    zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo""".split()
)
_MAX_SYL = 6

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Keep CJK, ASCII letters/digits; everything else (emoji, punctuation, symbols) becomes a space.
_DROP = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fffa-z0-9]+")
# A run of spaces is tried once, from its start, and never given back (`(?<! ) ++`): tried
# from every space it was quadratic in the run's length.
_SPACE_NEAR_CJK = re.compile(
    r"(?<=[\u3400-\u4dbf\u4e00-\u9fff0-9]) +|(?<! ) ++(?=[\u3400-\u4dbf\u4e00-\u9fff0-9])"
)
_PARTICLES = "吗嘛么呀啊呢吧哈啦哦噢呗咧哇嘞喽呐"


@lru_cache(maxsize=1)
def _t2s() -> dict[int, str]:
    table: dict[int, str] = {}
    for line in _T2S_PATH.read_text(encoding="utf-8").splitlines():
        if len(line) == 2 and not line.startswith("#"):
            table[ord(line[0])] = line[1]
    return table


def to_simplified(text: str) -> str:
    return text.translate(_t2s())


def clean(text: str) -> str:
    """NFKC (full-width -> half-width), traditional -> simplified, lower-case, drop symbols.

    Spaces survive only between Latin tokens, where they separate pinyin syllables.
    """
    s = unicodedata.normalize("NFKC", text)
    s = to_simplified(s).lower()
    s = _DROP.sub(" ", s).strip()
    return _SPACE_NEAR_CJK.sub("", s)


def strip_particles(text: str) -> str:
    """Trailing modal particles off ("有裁缝吗" -> "有裁缝"); only particles: the first stays."""
    return text.rstrip(_PARTICLES) or text[:1]


def normalize_word(word: str) -> str:
    """Lexicon words go through the same cleaning as messages so they always line up."""
    return clean(word).replace(" ", "")


def is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def _strip_tone(reading: str) -> str:
    d = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
    return "".join(c for c in d if not unicodedata.combining(c))


def fuzzy(syl: str) -> str:
    """Merge sounds that pinyin typists and speech recognisers commonly confuse.

    zh/z ch/c sh/s, l/n, and -ang/-eng/-ing vs -an/-en/-in (southern accents).
    """
    if syl[:2] in ("zh", "ch", "sh"):
        syl = syl[0] + syl[2:]
    elif syl[:1] == "l":
        syl = "n" + syl[1:]
    if len(syl) > 2 and syl.endswith("ng") and syl[-3] in "aei":
        syl = syl[:-1]
    return syl


@lru_cache(maxsize=1)
def _pinyin_table() -> dict[int, str]:
    from pypinyin.pinyin_dict import pinyin_dict  # slow import: only when first needed

    return pinyin_dict


@lru_cache(maxsize=65536)
def readings(ch: str) -> tuple[str, ...]:
    """All fuzzy toneless readings of one character (polyphones give several)."""
    raw = _pinyin_table().get(ord(ch))
    if not raw:
        return ()
    out: list[str] = []
    for r in raw.split(","):
        f = fuzzy(_strip_tone(r))
        if f not in out:
            out.append(f)
    return tuple(out)


@lru_cache(maxsize=65536)
def exact_readings(ch: str) -> frozenset[str]:
    """Toneless readings without the fuzzy merges (for the stricter two-character check)."""
    raw = _pinyin_table().get(ord(ch))
    return frozenset(_strip_tone(r) for r in raw.split(",")) if raw else frozenset()


@lru_cache(maxsize=4096)
def segment_pinyin(token: str) -> tuple[str, ...] | None:
    """Split run-together pinyin ("caifeng") into syllables; None if it is not pinyin.

    Dynamic programming for the fewest syllables, so "xian" stays one syllable.
    """
    n = len(token)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(n):
        cur = best[i]
        if cur is None:
            continue
        for j in range(i + 1, min(n, i + _MAX_SYL) + 1):
            piece = token[i:j]
            if piece in _SYLLABLES:
                cand = cur + (piece,)
                prev = best[j]
                if prev is None or len(cand) < len(prev):
                    best[j] = cand
    return best[n]
