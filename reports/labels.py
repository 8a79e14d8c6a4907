"""Every word a report prints, in English and Chinese: headings, column names, tiers, migrations,
priorities, relationship types and lifecycle stages. Segment names, churn reasons and actions come
translated from the marts (``*_zh`` columns); nothing else in a report is language-specific."""

from __future__ import annotations

from warehouse.settings import REPORT_LANGUAGES as LANGUAGES

_TEXT = {
    "en": {
        "rm_title": "{rm_name} ({rm_id}): your customers, {month}",
        "branch_title": "{branch_name} ({branch_id}): branch summary, {month}",
        "header": "{who} · {month}",
        "page": "page {page} of {pages}",
        "source": "Source: {marts}; segmentation run {run}; churn model {model}. Generated {today}.",
        "month_format": "{year}-{month:02d}",
        "branch": "Branch", "sub_branch": "Sub-branch", "rm": "RM", "month": "Month",
        "data_as_of": "Data as of", "completeness": "Data completeness",
        "completeness_line": "{delivered} of {days} daily deliveries loaded; {read:,} lines read, {loaded:,} loaded, "
                             "{quarantined:,} quarantined ({waiting:,} still waiting for a repair); "
                             "reconciliation: {reconciled}",
        "reconciled": "every delivery reconciles (lines read = loaded + quarantined)",
        "not_reconciled": "NOT reconciled — ask the data team before relying on these figures",
        "control_line": "Reconciliation to the control totals: {agreed} of {checked} daily files agree, rows and "
                        "amounts to the cent",
        "control_not": " — NOT all: ask the data team before relying on these figures",
        "at_a_glance": "Book at a glance", "figure": "Figure", "this_month": "This month",
        "change": "Change vs last month",
        "customers": "Customers", "aum": "Assets under management", "loans": "Loans",
        "current_value": "Current value (month)", "potential_value": "Potential value (a year)",
        "value_at_risk": "Value at risk", "customers_at_risk": "Customers at risk",
        "call_list": "Call list: whom to call first",
        "call_list_intro": "Customers at risk, the most worth saving first (retention priority, then value at "
                           "risk). Call them this week.",
        "no_call_list": "No customer of yours is at risk this month.",
        "rank": "#", "customer": "Customer", "name": "Name", "tier": "Tier", "risk": "Churn risk",
        "reasons": "Why", "action": "Next best action", "priority": "Priority",
        "pyramid": "Tier pyramid and segments", "tier_chart": "Customers by tier",
        "segment_chart": "Customers by segment",
        "migrations": "Tier migrations since last month",
        "moved_up": "Moved up", "moved_down": "Moved down", "left": "Left (closed this month)",
        "from_to": "From → to", "nobody": "nobody",
        "more_in_rm_reports": "and {count} more, in their RMs' reports",
        "top_customers": "Top customers by value",
        "segment": "Segment", "relationship": "Relationship", "clv": "CLV 12 months", "potential": "Potential",
        "value": "Value",
        "complaints": "Open complaints", "open_complaints": "Open", "oldest_days": "Oldest open (days)",
        "no_complaints": "No complaint of your customers is open at the month's end.",
        "segments_profile": "Your segments", "your_customers": "Your customers", "profile": "Profile",
        "league": "RM league table", "growth": "Value change", "left_value": "Value of customers left",
        "saved": "At-risk value saved", "lost": "At-risk value lost",
        "tier_mix": "Tier mix by sub-branch", "product_profitability": "Profitability by product",
        "channel_profitability": "Profitability by channel", "product": "Product", "channel": "Channel",
        "accounts": "Accounts", "balance": "Avg balance", "income": "Income", "credit_cost": "Credit cost",
        "cost_to_serve": "Cost to serve", "contribution": "Contribution", "transactions": "Transactions",
        "fees": "Fees", "segments_vs_tiers": "Segments × tiers (customers)", "total": "Total",
        "outlier_note": "* unlike the rest of the segment: look at this customer.",
        "yes": "yes", "no": "no",
        "glance_note": "Changes are against last month's book; empty in the book's first month.",
        "league_note": "At-risk value saved: last month's value at risk of the customers then at risk who are "
                       "no longer; lost: of those who closed in the month.",
        "risk_value": "Value at risk", "customers_count": "{count:,} customers",
        "segment_none": "not segmented",
        "branch_call_list": "Call list across the branch (top {count})",
        "rm_name": "RM name", "at_risk": "At risk",
        "complaints_branch": "Open complaints in the branch",
        "report_kind_rm": "RM report", "report_kind_branch": "Branch summary",
        "sub_branches": "Sub-branches",
        "bank_title": "Head office: the bank's customers, {month}", "head_office": "Head office",
        "report_kind_bank": "Head-office summary", "branch_league": "Branch league table",
        "tier_mix_branch": "Tier mix by branch", "entered": "Entered (first month)",
    },
    "zh": {
        "rm_title": "{rm_name}（{rm_id}）：您的客户，{month}",
        "branch_title": "{branch_name}（{branch_id}）：分行汇总，{month}",
        "header": "{who} · {month}",
        "page": "第 {page} 页，共 {pages} 页",
        "source": "数据来源：{marts}；客群划分批次 {run}；流失模型 {model}。生成于 {today}。",
        "month_format": "{year}年{month}月",
        "branch": "分行", "sub_branch": "支行", "rm": "客户经理", "month": "月份",
        "data_as_of": "数据截至", "completeness": "数据完整性",
        "completeness_line": "已加载 {delivered}/{days} 个日批次；读取 {read:,} 行，加载 {loaded:,} 行，"
                             "隔离 {quarantined:,} 行（其中 {waiting:,} 行待修复）；对账：{reconciled}",
        "reconciled": "每个批次均已对平（读取 = 加载 + 隔离）",
        "not_reconciled": "未对平——使用数据前请联系数据团队",
        "control_line": "与控制文件对账：{checked} 个日文件中 {agreed} 个行数与金额（精确到分）一致",
        "control_not": "——未全部一致，使用数据前请联系数据团队",
        "at_a_glance": "客户概览", "figure": "指标", "this_month": "本月", "change": "较上月变化",
        "customers": "客户数", "aum": "管理资产", "loans": "贷款", "current_value": "当月价值",
        "potential_value": "潜在价值（一年）", "value_at_risk": "风险价值", "customers_at_risk": "风险客户数",
        "call_list": "联系清单：优先联系谁",
        "call_list_intro": "有流失风险的客户，最值得挽留的在前（先按挽留优先级，再按风险价值）。请本周联系。",
        "no_call_list": "本月您的客户中没有流失风险客户。",
        "rank": "序号", "customer": "客户号", "name": "姓名", "tier": "层级", "risk": "流失风险",
        "reasons": "原因", "action": "建议行动", "priority": "优先级",
        "pyramid": "客户金字塔与客群", "tier_chart": "各层级客户数", "segment_chart": "各客群客户数",
        "migrations": "较上月的层级迁移",
        "moved_up": "升级", "moved_down": "降级", "left": "流失（本月销户）", "from_to": "由 → 至",
        "nobody": "无",
        "more_in_rm_reports": "另有{count}位，见其客户经理的报告",
        "top_customers": "价值最高的客户",
        "segment": "客群", "relationship": "关系类型", "clv": "12个月客户终身价值", "potential": "潜在价值",
        "value": "价值",
        "complaints": "未结投诉", "open_complaints": "未结", "oldest_days": "最长未结（天）",
        "no_complaints": "月末您的客户没有未结投诉。",
        "segments_profile": "您的客群", "your_customers": "您的客户数", "profile": "特征",
        "league": "客户经理排行榜", "growth": "价值变化", "left_value": "流失客户价值",
        "saved": "挽回的风险价值", "lost": "流失的风险价值",
        "tier_mix": "各支行层级分布", "product_profitability": "产品盈利", "channel_profitability": "渠道盈利",
        "product": "产品", "channel": "渠道", "accounts": "账户数", "balance": "日均余额", "income": "收入",
        "credit_cost": "信用成本", "cost_to_serve": "服务成本", "contribution": "贡献",
        "transactions": "交易笔数", "fees": "手续费", "segments_vs_tiers": "客群 × 层级（客户数）",
        "total": "合计", "outlier_note": "* 与同客群其他客户明显不同：请关注此客户。",
        "yes": "是", "no": "否",
        "glance_note": "变化为与上月相比；首月为空。",
        "league_note": "挽回的风险价值：上月有流失风险、本月已无风险的客户的上月风险价值；流失的：其中本月销户的客户。",
        "risk_value": "风险价值", "customers_count": "{count:,} 名客户",
        "segment_none": "未划分客群",
        "branch_call_list": "全分行联系清单（前 {count} 名）",
        "rm_name": "客户经理姓名", "at_risk": "风险客户",
        "complaints_branch": "分行未结投诉",
        "report_kind_rm": "客户经理报告", "report_kind_branch": "分行汇总",
        "sub_branches": "支行",
        "bank_title": "总行：全行客户，{month}", "head_office": "总行",
        "report_kind_bank": "总行汇总", "branch_league": "分行排行榜",
        "tier_mix_branch": "各分行层级分布", "entered": "新进（首月）",
    },
}

_WORDS = {
    "en": {
        "win_back": "win back", "try": "try to keep", "opportunistic": "keep if easy", "let_go": "let go",
        "not_at_risk": "not at risk", "atm": "ATM",
    },
    "zh": {
        # tiers and migrations
        "platinum": "铂金", "gold": "黄金", "iron": "铁", "lead": "铅", "unranked": "未分层",
        "up": "升级", "down": "降级", "stayed": "不变", "entered": "新进", "left": "流失",
        # retention priorities
        "win_back": "全力挽回", "try": "争取挽留", "opportunistic": "顺势挽留", "let_go": "不必挽留",
        "not_at_risk": "无风险",
        # relationship types (Kotler) and lifecycle stages
        "partnership": "伙伴型", "proactive": "主动型", "accountable": "负责型", "reactive": "反应型",
        "prospect": "潜在", "new": "新客户", "growing": "成长", "mature": "成熟", "declining": "衰退",
        "dormant": "休眠", "churned": "流失",
        # customer types and channels
        "individual": "个人", "enterprise": "企业", "branch": "网点柜面", "mobile": "手机银行",
        "web": "网上银行", "atm": "ATM", "system": "系统入账",
        # product families
        "deposit": "存款", "wealth": "理财", "loan": "贷款",
    },
}


def text(lang: str, key: str, **values) -> str:
    """The report text ``key`` in ``lang``, with ``values`` filled in."""
    return _TEXT[_language(lang)][key].format(**values)


def word(lang: str, value: str | None) -> str:
    """A mart's code (a tier, a migration, a priority...) in ``lang``; in English the code itself
    unless it reads as a code (win_back)."""
    if value is None:
        return ""
    return _WORDS.get(_language(lang), {}).get(value, value)


def month_name(lang: str, month) -> str:
    return text(lang, "month_format", year=month.year, month=month.month)


def _language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"report language {lang!r} is not one of {', '.join(LANGUAGES)} "
                         "(--lang, or BANK_REPORT_LANGUAGES in the configuration)")
    return lang
