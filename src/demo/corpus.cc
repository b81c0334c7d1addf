#include "demo/corpus.h"

#include <array>

namespace touchpoint::demo::internal {
namespace {

using SV = std::string_view;

constexpr NamePart kSurnames[] = {
    {"王", "wang"}, {"李", "li"},    {"张", "zhang"}, {"刘", "liu"},  {"陈", "chen"},
    {"杨", "yang"}, {"黄", "huang"}, {"赵", "zhao"},  {"吴", "wu"},   {"周", "zhou"},
    {"徐", "xu"},   {"孙", "sun"},   {"马", "ma"},    {"朱", "zhu"},  {"胡", "hu"},
    {"郭", "guo"},  {"何", "he"},    {"高", "gao"},   {"林", "lin"},  {"罗", "luo"},
    {"郑", "zheng"}, {"梁", "liang"}, {"谢", "xie"},  {"宋", "song"}, {"唐", "tang"},
    {"许", "xu"},   {"韩", "han"},   {"冯", "feng"},  {"邓", "deng"}, {"曹", "cao"},
    {"欧阳", "ouyang"}, {"司马", "sima"},
};

constexpr NamePart kGivenNames[] = {
    {"伟", "wei", 'm'},       {"芳", "fang", 'f'},      {"娜", "na", 'f'},        {"秀英", "xiuying", 'f'},
    {"敏", "min", 'f'},       {"静", "jing", 'f'},      {"丽", "li", 'f'},        {"强", "qiang", 'm'},
    {"磊", "lei", 'm'},       {"军", "jun", 'm'},       {"洋", "yang", 'm'},      {"勇", "yong", 'm'},
    {"艳", "yan", 'f'},       {"杰", "jie", 'm'},       {"娟", "juan", 'f'},      {"涛", "tao", 'm'},
    {"明", "ming", 'm'},      {"超", "chao", 'm'},      {"秀兰", "xiulan", 'f'},  {"霞", "xia", 'f'},
    {"平", "ping", 'u'},      {"刚", "gang", 'm'},      {"桂英", "guiying", 'f'}, {"子涵", "zihan", 'u'},
    {"浩然", "haoran", 'm'},  {"欣怡", "xinyi", 'f'},   {"梓萱", "zixuan", 'f'},  {"宇轩", "yuxuan", 'm'},
    {"雨桐", "yutong", 'f'},  {"思远", "siyuan", 'u'},  {"嘉怡", "jiayi", 'f'},   {"俊杰", "junjie", 'm'},
    {"晓明", "xiaoming", 'm'}, {"建国", "jianguo", 'm'}, {"淑珍", "shuzhen", 'f'}, {"一鸣", "yiming", 'm'},
};

constexpr NamePart kFirstNames[] = {
    {"James", "james", 'm'},   {"Mary", "mary", 'f'},       {"John", "john", 'm'},     {"Linda", "linda", 'f'},
    {"Michael", "michael", 'm'}, {"Sarah", "sarah", 'f'},   {"David", "david", 'm'},   {"Emma", "emma", 'f'},
    {"Daniel", "daniel", 'm'}, {"Olivia", "olivia", 'f'},   {"Kevin", "kevin", 'm'},   {"Grace", "grace", 'f'},
    {"Tom", "tom", 'm'},       {"Sophie", "sophie", 'f'},   {"Alex", "alex", 'u'},     {"Chloe", "chloe", 'f'},
    {"Ryan", "ryan", 'm'},     {"Hannah", "hannah", 'f'},   {"Lucas", "lucas", 'm'},   {"Mia", "mia", 'f'},
};

constexpr NamePart kLastNames[] = {
    {"Smith", "smith"},   {"Johnson", "johnson"}, {"Brown", "brown"},   {"Taylor", "taylor"},
    {"Miller", "miller"}, {"Wilson", "wilson"},   {"Moore", "moore"},   {"Clark", "clark"},
    {"Walker", "walker"}, {"Young", "young"},     {"King", "king"},     {"Wright", "wright"},
    {"Chan", "chan"},     {"Wong", "wong"},       {"Lee", "lee"},       {"Müller", "mueller"},
};

constexpr City kCities[] = {
    {"上海", "Shanghai", "上海", "Shanghai", "116.228."},
    {"北京", "Beijing", "北京", "Beijing", "123.125."},
    {"广州", "Guangzhou", "广东", "Guangdong", "113.108."},
    {"深圳", "Shenzhen", "广东", "Guangdong", "119.123."},
    {"杭州", "Hangzhou", "浙江", "Zhejiang", "115.236."},
    {"成都", "Chengdu", "四川", "Sichuan", "171.216."},
    {"武汉", "Wuhan", "湖北", "Hubei", "111.172."},
    {"南京", "Nanjing", "江苏", "Jiangsu", "180.110."},
    {"西安", "Xi'an", "陕西", "Shaanxi", "113.140."},
    {"重庆", "Chongqing", "重庆", "Chongqing", "113.204."},
    {"苏州", "Suzhou", "江苏", "Jiangsu", "58.208."},
    {"天津", "Tianjin", "天津", "Tianjin", "117.131."},
    {"长沙", "Changsha", "湖南", "Hunan", "175.0."},
    {"厦门", "Xiamen", "福建", "Fujian", "110.80."},
};

constexpr Product kProducts[] = {
    {"P1001", "智能手机 Pro 12GB+256GB", "Smartphone Pro 12GB+256GB", "phones", 599900},
    {"P1002", "智能手机 青春版", "Smartphone Lite", "phones", 159900},
    {"P1003", "折叠屏手机", "Foldable phone", "phones", 899900},
    {"P1004", "手机壳 透明防摔", "Clear phone case", "phone_accessories", 3900},
    {"P1005", "65W 快充充电器", "65W fast charger", "phone_accessories", 12900},
    {"P1006", "钢化膜 两片装", "Screen protector (2 pack)", "phone_accessories", 2990},
    {"P1101", "轻薄笔记本 14英寸", "14-inch ultrabook", "laptops", 549900},
    {"P1102", "游戏本 16英寸", "16-inch gaming laptop", "laptops", 899900},
    {"P1103", "平板电脑 11英寸", "11-inch tablet", "tablets", 249900},
    {"P1201", "降噪蓝牙耳机", "Noise-cancelling earbuds", "audio", 89900},
    {"P1202", "头戴式耳机", "Over-ear headphones", "audio", 129900},
    {"P1203", "智能音箱", "Smart speaker", "audio", 29900},
    {"P1301", "智能手表", "Smartwatch", "wearables", 149900},
    {"P1302", "运动手环", "Fitness band", "wearables", 22900},
    {"P2001", "变频空调 1.5匹", "Inverter air conditioner 1.5HP", "home_appliances", 279900},
    {"P2002", "滚筒洗衣机 10公斤", "Front-load washer 10kg", "home_appliances", 239900},
    {"P2003", "扫地机器人", "Robot vacuum", "home_appliances", 199900},
    {"P2004", "空气炸锅", "Air fryer", "kitchen", 39900},
    {"P2005", "电饭煲 4L", "Rice cooker 4L", "kitchen", 29900},
    {"P2006", "破壁料理机", "High-speed blender", "kitchen", 49900},
    {"P3001", "保湿精华液 50ml", "Hydrating serum 50ml", "beauty", 45000},
    {"P3002", "防晒霜 SPF50", "Sunscreen SPF50", "beauty", 16800},
    {"P3003", "口红 经典色", "Lipstick classic red", "beauty", 32000},
    {"P3004", "洗面奶", "Facial cleanser", "beauty", 8900},
    {"P4001", "羽绒服 女款", "Women's down jacket", "apparel", 89900},
    {"P4002", "纯棉T恤", "Cotton T-shirt", "apparel", 7900},
    {"P4003", "牛仔裤 直筒", "Straight-leg jeans", "apparel", 29900},
    {"P4004", "跑步鞋", "Running shoes", "shoes", 59900},
    {"P4005", "小白鞋", "White sneakers", "shoes", 39900},
    {"P5001", "婴儿纸尿裤 L码 84片", "Baby diapers L (84)", "baby", 16900},
    {"P5002", "婴儿奶粉 3段 800g", "Infant formula stage 3 800g", "baby", 32800},
    {"P5003", "儿童安全座椅", "Child car seat", "baby", 139900},
    {"P6001", "有机牛奶 250ml×12", "Organic milk 250ml x12", "grocery", 6990},
    {"P6002", "坚果礼盒", "Mixed nuts gift box", "grocery", 12800},
    {"P6003", "精品咖啡豆 500g", "Specialty coffee beans 500g", "grocery", 11800},
    {"P6004", "五常大米 5kg", "Wuchang rice 5kg", "grocery", 8990},
    {"P7001", "畅销小说", "Bestselling novel", "books", 4900},
    {"P7002", "儿童绘本套装", "Children's picture books set", "books", 15800},
    {"P7003", "编程入门", "Programming for beginners", "books", 8900},
    {"P8001", "瑜伽垫", "Yoga mat", "sports", 12900},
    {"P8002", "哑铃套装", "Dumbbell set", "sports", 29900},
    {"P8003", "露营帐篷", "Camping tent", "sports", 69900},
    {"P9001", "乳胶枕", "Latex pillow", "home", 19900},
    {"P9002", "四件套 纯棉", "Cotton bedding set", "home", 39900},
    {"P9003", "收纳箱 三件套", "Storage boxes (3)", "home", 9900},
};

constexpr SV kDomainsZh[] = {"qq.com", "163.com", "126.com", "sina.com", "foxmail.com",
                             "139.com", "outlook.com"};
constexpr SV kDomainsEn[] = {"gmail.com", "outlook.com", "yahoo.com", "icloud.com",
                             "hotmail.com"};

// Customer texts, [topic][language].
constexpr SV kDeliveryLateZh[] = {
    "快递太慢了，三天还没到",
    "订单{order}已经{days}天了还没收到，怎么回事？",
    "说好的次日达，现在都{days}天了，物流一直不更新",
    "我的快递是不是丢了？{order}一直显示运输中",
    "又延迟了！买的{product}到现在还没发货，太失望了",
    "物流信息{days}天没动了，能不能帮我催一下",
};
constexpr SV kDeliveryLateEn[] = {
    "The parcel is late again",
    "Order {order} was supposed to arrive {days} days ago. Where is it?",
    "My {product} still hasn't shipped. This is really disappointing.",
    "Tracking hasn't updated in {days} days, please chase the courier",
    "Is my package lost? {order} has said in transit for a week",
};
constexpr SV kDeliveryStatusZh[] = {
    "请问订单{order}什么时候发货？",
    "我买的{product}到哪里了",
    "快递显示已签收，但是我没收到",
    "能查一下{order}的物流吗",
};
constexpr SV kDeliveryStatusEn[] = {
    "When will order {order} ship?",
    "Where is my {product}? I can't see any tracking",
    "It says delivered but I never got the parcel",
    "Can you check the delivery status of {order}?",
};
constexpr SV kRefundZh[] = {
    "我要退款",
    "订单{order}申请退款，怎么操作？",
    "{product}有质量问题，要求退货退款",
    "退款申请{days}天了还没到账，请尽快处理",
    "东西和描述不符，我要退款！",
};
constexpr SV kRefundEn[] = {
    "I want a refund for order {order}",
    "The {product} arrived broken, I want my money back",
    "My refund still hasn't come through after {days} days",
    "How do I return the {product} and get a refund?",
};
constexpr SV kChangeAddressZh[] = {
    "订单{order}的收货地址填错了，能改一下吗",
    "我想修改收货地址，搬家了",
    "帮我把{order}改成送到公司",
};
constexpr SV kChangeAddressEn[] = {
    "I need to change the delivery address for {order}",
    "Wrong address on my order, can you update it?",
    "Please send {order} to my office instead",
};
constexpr SV kCancelOrderZh[] = {
    "我要取消订单{order}",
    "拍错了，帮我取消一下订单",
    "还没发货的话请取消{order}",
};
constexpr SV kCancelOrderEn[] = {
    "Please cancel order {order}",
    "I ordered the wrong size, can I cancel?",
    "Cancel {order} if it hasn't shipped yet",
};
constexpr SV kInvoiceZh[] = {
    "订单{order}需要开增值税专用发票",
    "发票怎么开？要公司抬头的",
    "电子发票一直没收到",
};
constexpr SV kInvoiceEn[] = {
    "I need an invoice for order {order}",
    "Can I get a VAT invoice with my company name?",
    "The e-invoice never arrived in my inbox",
};
constexpr SV kLoginZh[] = {
    "登录不了，一直提示验证码错误",
    "收不到短信验证码",
    "账号被锁了怎么办",
    "APP一打开就闪退，登不上去",
};
constexpr SV kLoginEn[] = {
    "I can't log in, the verification code never arrives",
    "My account is locked after a password reset",
    "The app crashes every time I try to sign in",
};
constexpr SV kProductQuestionZh[] = {
    "{product}支持七天无理由退货吗",
    "请问{product}有保修吗？保修多久",
    "{product}什么时候补货",
    "这款{product}和上一代有什么区别",
    "{product}现在买有优惠吗",
};
constexpr SV kProductQuestionEn[] = {
    "Does the {product} come with a warranty?",
    "When will the {product} be back in stock?",
    "Is the {product} compatible with my old charger?",
    "Is there a discount on the {product} this week?",
};
constexpr SV kPraiseZh[] = {
    "客服态度很好，谢谢",
    "发货很快，包装也很好，点赞",
    "{product}质量不错，会回购",
    "问题解决了，非常满意，谢谢小姐姐",
};
constexpr SV kPraiseEn[] = {
    "great service, thanks",
    "Fast delivery and the {product} is excellent",
    "Thanks for sorting that out so quickly!",
    "Really happy with the {product}, will buy again",
};
constexpr SV kServiceComplaintZh[] = {
    "客服一直不回复，太差了",
    "打了三次电话都没人解决问题，我要投诉",
    "同样的问题问了好几遍了，到底能不能处理？",
    "服务态度太差，我要找你们经理",
    "再不处理我就去消费者协会投诉",
};
constexpr SV kServiceComplaintEn[] = {
    "Nobody has answered my emails for a week",
    "This is the third time I'm asking about the same thing",
    "Terrible service, I want to speak to a manager",
    "I'm very unhappy with how this was handled",
};

constexpr std::array<std::array<std::span<const SV>, 2>, static_cast<size_t>(Topic::kCount)>
    kCustomerTexts = {{
        {kDeliveryLateZh, kDeliveryLateEn},
        {kDeliveryStatusZh, kDeliveryStatusEn},
        {kRefundZh, kRefundEn},
        {kChangeAddressZh, kChangeAddressEn},
        {kCancelOrderZh, kCancelOrderEn},
        {kInvoiceZh, kInvoiceEn},
        {kLoginZh, kLoginEn},
        {kProductQuestionZh, kProductQuestionEn},
        {kPraiseZh, kPraiseEn},
        {kServiceComplaintZh, kServiceComplaintEn},
    }};

constexpr SV kMixedDelivery[] = {"快递好慢 where is my order {order}??",
                                 "物流tracking一直不更新，please check"};
constexpr SV kMixedRefund[] = {"APP闪退了 refund please", "{order}要refund，东西坏了",
                               "退款什么时候到账 asap please"};
constexpr SV kMixedLogin[] = {"APP闪退了，login不了", "验证码收不到 help!!"};
constexpr SV kMixedPraise[] = {"service很好 thanks 谢谢", "{product}很nice，五星好评"};
constexpr SV kMixedOther[] = {"请问invoice怎么开", "订单{order}可以cancel吗"};

constexpr SV kPiiZh[] = {"，我的电话是{phone}", "，联系我{phone}", "，邮箱{email}，发票发这里",
                         "，手机号{phone}，请回电"};
constexpr SV kPiiEn[] = {" You can reach me at {phone}", " My email is {email}",
                         " Call me back on {phone} please"};

constexpr SV kAgentDeliveryZh[] = {
    "您好，已为您催促物流，预计1-2天内送达，给您带来不便非常抱歉",
    "亲，已经联系快递站点加急派送了，请留意电话",
    "非常抱歉让您久等，已为您登记延迟补偿，稍后会有优惠券发到账户"};
constexpr SV kAgentDeliveryEn[] = {
    "Sorry for the delay. I've escalated it with the courier; it should arrive in 1-2 days.",
    "I've checked {order}: it is out for delivery today.",
    "Apologies for the wait. I've added a voucher to your account for the trouble."};
constexpr SV kAgentRefundZh[] = {"您好，退款已提交，预计3-5个工作日原路退回",
                                 "已为您加急处理退款，请留意到账信息",
                                 "请在订单页面点击申请售后，上传照片后我们马上处理"};
constexpr SV kAgentRefundEn[] = {
    "Your refund has been approved and will reach your card in 3-5 working days.",
    "I've fast-tracked the refund for {order}.",
    "Please upload a photo under After-sales and we will process it straight away."};
constexpr SV kAgentOrderZh[] = {"好的，已经帮您修改完成", "订单{order}已为您处理，请刷新查看",
                                "已帮您取消，款项会原路退回"};
constexpr SV kAgentOrderEn[] = {"Done, I've updated order {order} for you.",
                                "All set, please refresh the order page.",
                                "Cancelled; the payment will be returned to your card."};
constexpr SV kAgentInvoiceZh[] = {"电子发票会在24小时内发送到您的邮箱",
                                  "请在订单详情中填写抬头和税号，我们会重新开具"};
constexpr SV kAgentInvoiceEn[] = {"The e-invoice will be emailed within 24 hours.",
                                  "Please add your company name and tax number in the order "
                                  "details and we'll reissue it."};
constexpr SV kAgentLoginZh[] = {"请更新到最新版本APP后重试，如仍有问题请告诉我们手机型号",
                                "已为您解锁账号，请重新登录"};
constexpr SV kAgentLoginEn[] = {"Please update the app to the latest version and try again.",
                                "I've unlocked your account; please sign in again."};
constexpr SV kAgentProductZh[] = {"该商品支持七天无理由退货，整机保修一年",
                                  "预计下周补货，可以先点击到货提醒"};
constexpr SV kAgentProductEn[] = {"It comes with a one-year warranty and 7-day returns.",
                                  "We expect new stock next week; tap Notify me to get an alert."};
constexpr SV kAgentPraiseZh[] = {"感谢您的认可，祝您生活愉快！", "谢谢亲的好评，我们会继续努力"};
constexpr SV kAgentPraiseEn[] = {"Thank you, glad we could help!",
                                 "Thanks for the kind words, have a great day."};
constexpr SV kAgentComplaintZh[] = {"非常抱歉给您带来不好的体验，已升级给主管，24小时内回电",
                                    "您的问题我已经记录，专人会跟进到底"};
constexpr SV kAgentComplaintEn[] = {
    "I'm sorry about this. I've escalated it to a supervisor who will call you within 24 hours.",
    "I've logged your case and a dedicated agent will follow it through."};

constexpr SV kBannedZh[] = {"不知道，你自己查一下物流吧", "这个不归我管，你找快递公司",
                            "系统就是这样的，没办法", "不知道什么时候能到"};
constexpr SV kBannedEn[] = {"That's not my problem, ask the courier.",
                            "I don't know, check the website.", "Nothing I can do about it."};

constexpr SV kBotZh[] = {"您好，我是智能助手小T，请问有什么可以帮您？",
                         "正在为您转接人工客服，请稍候",
                         "您可以在“我的订单”中查看物流进度"};
constexpr SV kBotEn[] = {"Hi, I'm the Touchpoint assistant. How can I help?",
                         "Connecting you to an agent, please hold on.",
                         "You can track your parcel under My Orders."};

constexpr SV kSurveyLowZh[] = {"送货太慢了", "客服推来推去，问题没解决", "包装破损，体验很差",
                               "结账总是出错", "APP太卡了"};
constexpr SV kSurveyMidZh[] = {"还可以吧", "一般般，物流可以再快点", "东西不错，就是客服回复慢"};
constexpr SV kSurveyHighZh[] = {"非常满意，会推荐给朋友", "送货快，服务好", "客服很耐心，点赞"};
constexpr SV kSurveyLowEn[] = {"Delivery was far too slow", "Nobody solved my problem",
                               "Checkout kept failing", "The app is buggy"};
constexpr SV kSurveyMidEn[] = {"It was okay", "Fine, but delivery could be faster"};
constexpr SV kSurveyHighEn[] = {"Excellent, would recommend", "Quick delivery and friendly staff",
                                "Smooth checkout, love the app"};

constexpr PageDef kPages[] = {
    {"Home", "/"},
    {"Category", "/c/phones"},
    {"Category", "/c/home-appliances"},
    {"Category", "/c/beauty"},
    {"Search", "/search"},
    {"Cart", "/cart"},
    {"Checkout", "/checkout"},
    {"My Orders", "/account/orders"},
    {"Help Center", "/help"},
    {"Promotion", "/promo/double-11"},
    {"Promotion", "/promo/618"},
    {"Membership", "/account/membership"},
};

}  // namespace

std::string_view TopicName(Topic topic) {
  switch (topic) {
    case Topic::kDeliveryLate: return "delivery_late";
    case Topic::kDeliveryStatus: return "delivery_status";
    case Topic::kRefund: return "refund";
    case Topic::kChangeAddress: return "change_address";
    case Topic::kCancelOrder: return "cancel_order";
    case Topic::kInvoice: return "invoice";
    case Topic::kLogin: return "login";
    case Topic::kProductQuestion: return "product_question";
    case Topic::kPraise: return "praise";
    case Topic::kServiceComplaint: return "service_complaint";
    case Topic::kCount: break;
  }
  return "unknown";
}

std::span<const NamePart> ChineseSurnames() { return kSurnames; }
std::span<const NamePart> ChineseGivenNames() { return kGivenNames; }
std::span<const NamePart> EnglishFirstNames() { return kFirstNames; }
std::span<const NamePart> EnglishLastNames() { return kLastNames; }
std::span<const City> Cities() { return kCities; }
std::span<const Product> Products() { return kProducts; }
std::span<const std::string_view> EmailDomainsZh() { return kDomainsZh; }
std::span<const std::string_view> EmailDomainsEn() { return kDomainsEn; }

std::span<const std::string_view> CustomerTexts(Topic topic, bool english) {
  return kCustomerTexts[static_cast<size_t>(topic)][english ? 1 : 0];
}

std::span<const std::string_view> MixedTexts(Topic topic) {
  switch (topic) {
    case Topic::kDeliveryLate:
    case Topic::kDeliveryStatus: return kMixedDelivery;
    case Topic::kRefund: return kMixedRefund;
    case Topic::kLogin: return kMixedLogin;
    case Topic::kPraise: return kMixedPraise;
    default: return kMixedOther;
  }
}

std::span<const std::string_view> PiiSuffixes(bool english) {
  if (english) return kPiiEn;
  return kPiiZh;
}

std::span<const std::string_view> AgentReplies(Topic topic, bool english) {
  switch (topic) {
    case Topic::kDeliveryLate:
    case Topic::kDeliveryStatus: return english ? std::span<const SV>(kAgentDeliveryEn)
                                                : std::span<const SV>(kAgentDeliveryZh);
    case Topic::kRefund: return english ? std::span<const SV>(kAgentRefundEn)
                                        : std::span<const SV>(kAgentRefundZh);
    case Topic::kChangeAddress:
    case Topic::kCancelOrder: return english ? std::span<const SV>(kAgentOrderEn)
                                             : std::span<const SV>(kAgentOrderZh);
    case Topic::kInvoice: return english ? std::span<const SV>(kAgentInvoiceEn)
                                         : std::span<const SV>(kAgentInvoiceZh);
    case Topic::kLogin: return english ? std::span<const SV>(kAgentLoginEn)
                                       : std::span<const SV>(kAgentLoginZh);
    case Topic::kProductQuestion: return english ? std::span<const SV>(kAgentProductEn)
                                                 : std::span<const SV>(kAgentProductZh);
    case Topic::kPraise: return english ? std::span<const SV>(kAgentPraiseEn)
                                        : std::span<const SV>(kAgentPraiseZh);
    case Topic::kServiceComplaint:
    case Topic::kCount: break;
  }
  return english ? std::span<const SV>(kAgentComplaintEn) : std::span<const SV>(kAgentComplaintZh);
}

std::span<const std::string_view> BannedAgentReplies(bool english) {
  if (english) return kBannedEn;
  return kBannedZh;
}

std::span<const std::string_view> BotReplies(bool english) {
  if (english) return kBotEn;
  return kBotZh;
}

std::span<const std::string_view> SurveyComments(int bucket, bool english) {
  if (english) {
    if (bucket <= 0) return kSurveyLowEn;
    if (bucket == 1) return kSurveyMidEn;
    return kSurveyHighEn;
  }
  if (bucket <= 0) return kSurveyLowZh;
  if (bucket == 1) return kSurveyMidZh;
  return kSurveyHighZh;
}

std::span<const PageDef> Pages() { return kPages; }

void ExpandTemplate(std::string_view tmpl, const Slots& slots, std::string* out) {
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find('{', pos);
    if (open == std::string_view::npos) break;
    size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) break;
    out->append(tmpl.substr(pos, open - pos));
    std::string_view key = tmpl.substr(open + 1, close - open - 1);
    if (key == "order") {
      out->append(slots.order);
    } else if (key == "product") {
      out->append(slots.product);
    } else if (key == "phone") {
      out->append(slots.phone);
    } else if (key == "email") {
      out->append(slots.email);
    } else if (key == "name") {
      out->append(slots.name);
    } else if (key == "days") {
      out->append(std::to_string(slots.days));
    } else {
      out->append(tmpl.substr(open, close - open + 1));
    }
    pos = close + 1;
  }
  out->append(tmpl.substr(pos));
}

}  // namespace touchpoint::demo::internal
