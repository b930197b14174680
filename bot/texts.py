"""Reply texts shared across features: short, plain Simplified Chinese."""

WELCOME = (
    "您好，欢迎来到邻里！我能帮您：\n"
    "1. 找师傅：裁缝、修鞋、配钥匙、修家电…直接说“找裁缝”或“冰箱不制冷”\n"
    "2. 食堂菜单：说“今天吃什么”\n"
    "3. 送餐上门：说“报名送餐”\n"
    "4. 找网格员：说“找网格员”\n"
    "打字或说语音都可以。"
)
HELP = WELCOME
ONLY_TEXT = "抱歉，我现在只看得懂文字和语音。请打字或发语音告诉我您需要什么。"
VOICE_UNCLEAR = "抱歉，没听清您的语音。请再说一遍，或者打字告诉我。"
FALLBACK = "抱歉，我没太明白。您可以说“找裁缝”“今天吃什么”“报名送餐”，或回复“帮助”。"
UNKNOWN = "抱歉，这个我帮不上忙。我能帮您找师傅、看食堂菜单、报名送餐、联系网格员。"
ERROR = "抱歉，系统忙，请稍后再试。"
LOCATION_UNUSABLE = "这个位置没有收到有效的经纬度，请再发一次位置（点“+”→“位置”）。"
LOCATION_SAVED = "已记住您的位置。需要找师傅时直接告诉我，比如“找修鞋的”。"
CANCELLED = "好的，已取消。"
NOTHING_TO_CANCEL = "现在没有要取消的事情。"
COMING_SOON = "“{name}”功能正在准备中，很快就能用。需要帮助请回复“帮助”。"

INBOX_EMPTY = "没有待看的消息。"
