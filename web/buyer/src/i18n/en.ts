export default {
  tab: { search: 'Search', cart: 'Cart', orders: 'Orders', account: 'Account' },
  nav: {
    search: 'Search', login: 'Sign in', product: 'Product', cart: 'Cart', quotes: 'Quotes',
    approvals: 'Approvals', orders: 'Orders', order: 'Order', documents: 'Invoices and shipments', account: 'Account',
  },
  common: {
    loading: 'Loading…', retry: 'Retry', more: 'Load more', empty: 'Nothing here yet.', error: 'Something went wrong',
    total: 'Total', quantity: 'Quantity', save: 'Save', cancel: 'Cancel', close: 'Close', all: 'All',
    signOut: 'Sign out', language: 'Language', of: '{shown} of {total}',
  },
  login: {
    title: 'Sign in to the buyer portal', email: 'Email', password: 'Password', tenant: 'Marketplace',
    submit: 'Sign in', failed: 'Sign-in failed',
  },
  unit: { current: 'Business unit', switch: 'Switch unit', confirm: 'Enter your password to switch to {name}' },
  search: {
    placeholder: 'Search products or SKU codes', submit: 'Search', results: '{count} products',
    categories: 'Categories', vendors: 'Vendors', attributes: 'Attributes', priceAt: 'Prices for {qty} units',
    noPrice: 'No price', from: 'from', elapsed: 'shown in {ms} ms',
  },
  price: { CONTRACT: 'contract', PRICE_LIST: 'price list', BASE: 'base', breakFrom: 'from {qty}' },
  product: {
    skus: 'SKUs', availability: 'Availability', rule: 'Order in steps of {increment}, minimum {minimum}',
    ruleMax: 'at most {maximum}', breaks: 'Quantity breaks', addToCart: 'Add to cart', requestQuote: 'Request a quote',
    note: 'Note for the seller', added: 'Added to the cart', quoteSent: 'Quote requested', notFound: 'This product is not in your catalog.',
  },
  stock: { IN_STOCK: 'In stock', LOW: 'Low stock', OUT_OF_STOCK: 'Out of stock', units: '{count} available' },
  cart: {
    empty: 'Your cart is empty.', preview: 'Checkout', po: 'PO number', place: 'Place order', placed: 'Order placed',
    sellers: '{count} seller(s)', remove: 'Remove', update: 'Update',
  },
  quotes: {
    status: { REQUESTED: 'Requested', QUOTED: 'Offer received', ACCEPTED: 'Accepted', REJECTED: 'Rejected', EXPIRED: 'Expired' },
    accept: 'Accept offer', reject: 'Reject', offer: 'Offer', validUntil: 'valid until {date}', requested: 'Requested {date}',
  },
  orders: {
    state: {
      DRAFT: 'Draft', PENDING_APPROVAL: 'Awaiting approval', PLACED: 'Placed', RESERVED: 'Reserved', CONFIRMED: 'Confirmed',
      PARTIALLY_SHIPPED: 'Partially shipped', SHIPPED: 'Shipped', DELIVERED: 'Delivered', COMPLETED: 'Completed',
      CANCELLED: 'Cancelled', REJECTED: 'Rejected', EXPIRED: 'Expired', RESERVATION_FAILED: 'Reservation failed',
    },
    waitingFor: 'waiting for: {role}', timeline: 'Timeline', lines: 'Lines', shipments: 'Shipments', invoice: 'Invoice',
    approve: 'Approve', reject: 'Reject', comment: 'Comment', decided: 'Decision recorded', queueEmpty: 'No order waits for you.',
  },
  documents: { invoices: 'Invoices', shipments: 'Shipments', due: 'due {date}', outstanding: 'outstanding' },
  account: { quotes: 'My quotes', approvals: 'Approval queue', documents: 'Invoices and shipments', roles: 'Roles' },
}
