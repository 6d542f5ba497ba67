export default {
  tab: { search: '搜索', cart: '购物车', orders: '订单', account: '我的' },
  nav: {
    search: '搜索', login: '登录', product: '商品', cart: '购物车', quotes: '询价', approvals: '审批',
    orders: '订单', order: '订单详情', documents: '发票与发货', account: '我的',
  },
  common: {
    loading: '加载中…', retry: '重试', more: '加载更多', empty: '暂无内容。', error: '出错了',
    total: '合计', quantity: '数量', save: '保存', cancel: '取消', close: '关闭', all: '全部',
    signOut: '退出登录', language: '语言', of: '{shown} / {total}',
  },
  login: { title: '登录采购门户', email: '邮箱', password: '密码', tenant: '平台', submit: '登录', failed: '登录失败' },
  unit: { current: '业务单元', switch: '切换单元', confirm: '输入密码以切换到 {name}' },
  search: {
    placeholder: '搜索商品或 SKU 编码', submit: '搜索', results: '共 {count} 件商品',
    categories: '类目', vendors: '供应商', attributes: '属性', priceAt: '按 {qty} 件计价',
    noPrice: '暂无价格', from: '起', elapsed: '{ms} 毫秒内显示',
  },
  price: { CONTRACT: '合同价', PRICE_LIST: '价目表', BASE: '基础价', breakFrom: '{qty} 件起' },
  product: {
    skus: 'SKU', availability: '库存', rule: '按 {increment} 的倍数订购，最少 {minimum}', ruleMax: '最多 {maximum}',
    breaks: '阶梯价格', addToCart: '加入购物车', requestQuote: '申请报价', note: '给卖家的备注',
    added: '已加入购物车', quoteSent: '已提交询价', notFound: '该商品不在您的目录中。',
  },
  stock: { IN_STOCK: '有货', LOW: '库存紧张', OUT_OF_STOCK: '缺货', units: '可用 {count}' },
  cart: {
    empty: '购物车是空的。', preview: '结算', po: '采购单号', place: '提交订单', placed: '订单已提交',
    sellers: '{count} 个卖家', remove: '移除', update: '更新',
  },
  quotes: {
    status: { REQUESTED: '已申请', QUOTED: '已报价', ACCEPTED: '已接受', REJECTED: '已拒绝', EXPIRED: '已过期' },
    accept: '接受报价', reject: '拒绝', offer: '报价', validUntil: '有效期至 {date}', requested: '申请于 {date}',
  },
  orders: {
    state: {
      DRAFT: '草稿', PENDING_APPROVAL: '待审批', PLACED: '已下单', RESERVED: '已预留', CONFIRMED: '已确认',
      PARTIALLY_SHIPPED: '部分发货', SHIPPED: '已发货', DELIVERED: '已送达', COMPLETED: '已完成',
      CANCELLED: '已取消', REJECTED: '已驳回', EXPIRED: '已过期', RESERVATION_FAILED: '预留失败',
    },
    waitingFor: '等待：{role}', timeline: '状态时间线', lines: '明细', shipments: '发货', invoice: '发票',
    approve: '批准', reject: '驳回', comment: '意见', decided: '已记录审批结果', queueEmpty: '没有待您审批的订单。',
  },
  documents: { invoices: '发票', shipments: '发货单', due: '到期 {date}', outstanding: '未付' },
  account: { quotes: '我的询价', approvals: '审批队列', documents: '发票与发货', roles: '角色' },
}
