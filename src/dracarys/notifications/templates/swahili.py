"""The Swahili texts of every notification (Kenyan usage), as data beside the English ones
in `workflows.py`: one entry per (kind, channel) the workflow sends, with the same
`$placeholders` as its English text (a test holds them to that). The values filled in
come from the events: the consumers give those in words in Swahili too (dates, what a
payment was for; `Notice.translations`), and amounts, names and titles stay as they are.
`payment_receipt`'s `$purpose` carries its own possessive ("kipindi chako"), which
agrees with the noun.

An entry is (subject, body): the in-app title and body, the e-mail subject and text
(the footer included, as the English `_email` adds it), or (None, text) for an SMS."""

from __future__ import annotations

_FOOTER = "\n\nChagua tunachokutumia: $base_url/notifications/preferences"


def _email(subject: str, text: str) -> tuple[str, str]:
    return subject, text + _FOOTER


def _in_app_and_email(
    kind: str, title: str, body: str
) -> dict[tuple[str, str], tuple[str | None, str]]:
    """The in-app text and the e-mail of a kind that says the same on both."""
    return {(kind, "in_app"): (title, body), (kind, "email"): _email(title, body)}


SWAHILI: dict[tuple[str, str], tuple[str | None, str]] = {
    # ---- sessions ----------------------------------------------------------------------
    ("session_booked", "in_app"): (
        "Kipindi kimewekwa",
        "Kipindi chako cha $starts_at kimewekwa. Kiko kwenye ukurasa wa vipindi vyako.",
    ),
    ("session_booked", "email"): _email(
        "Kipindi kimewekwa",
        "Kipindi chako cha $starts_at kimewekwa. Kiko kwenye ukurasa wa vipindi vyako.",
    ),
    ("session_cancelled", "in_app"): (
        "Kipindi kimeghairiwa",
        "Kipindi cha $session_day kimeghairiwa na $who. Malipo yoyote yatarudishwa yalikotoka.",
    ),
    ("session_cancelled", "email"): _email(
        "Kipindi kimeghairiwa",
        "Kipindi cha $session_day kimeghairiwa na $who. Malipo yoyote yatarudishwa yalikotoka.",
    ),
    ("session_reminder", "in_app"): (
        "Kipindi chako kinaanza baada ya $lead",
        "Kipindi chako \u201c$title\u201d kinaanza $starts_at.",
    ),
    **_in_app_and_email(
        "session_rated",
        "Tathmini mpya: nyota $rating kati ya 5",
        "Mwanafunzi amekipa kipindi chako nyota $rating kati ya 5. Vipindi vyako viko "
        "kwenye ukurasa wa vipindi unavyofundisha.",
    ),
    # ---- payments ----------------------------------------------------------------------
    ("payment_receipt", "in_app"): (
        "Malipo yamepokelewa: $amount",
        "Tumepokea $amount kwa ajili ya $purpose ($reference). Risiti zako ziko "
        "kwenye ukurasa wa pochi.",
    ),
    ("payment_receipt", "email"): _email(
        "Malipo yamepokelewa: $amount",
        "Tumepokea $amount kwa ajili ya $purpose ($reference). Risiti zako ziko "
        "kwenye ukurasa wa pochi.",
    ),
    ("package_refunded", "in_app"): (
        "Vipindi visivyotumika vimerejeshewa pesa",
        "Kifurushi chako kimefungwa ($reason): vipindi $unused havikutumika, na $amount "
        "zimerudishwa kwenye pochi yako.",
    ),
    ("package_refunded", "email"): _email(
        "Vipindi visivyotumika vimerejeshewa pesa",
        "Kifurushi chako kimefungwa ($reason): vipindi $unused havikutumika, na $amount "
        "zimerudishwa kwenye pochi yako.",
    ),
    ("payout_sent", "in_app"): (
        "Pesa zimetumwa: $amount",
        "Pesa ulizotoa, $amount kupitia $method, ziko njiani kukufikia.",
    ),
    ("payout_sent", "email"): _email(
        "Pesa zimetumwa: $amount",
        "Pesa ulizotoa, $amount kupitia $method, ziko njiani kukufikia.",
    ),
    ("payout_sent", "sms"): (None, "Dracarys: pesa ulizotoa, $amount, ziko njiani kukufikia."),
    ("payout_under_review", "in_app"): (
        "Utoaji wa pesa unakaguliwa: $amount",
        "Timu yetu inakagua utoaji wako wa $amount kabla ya kuukamilisha. Pesa zimehifadhiwa; "
        "tutakujulisha zikitumwa au zikirudi kwenye pochi yako.",
    ),
    ("payout_under_review", "email"): _email(
        "Utoaji wa pesa unakaguliwa: $amount",
        "Timu yetu inakagua utoaji wako wa $amount kabla ya kuukamilisha. Pesa zimehifadhiwa; "
        "tutakujulisha zikitumwa au zikirudi kwenye pochi yako.",
    ),
    ("payout_failed", "in_app"): (
        "Utoaji wa pesa haukufaulu: $amount",
        "Hatukuweza kukutumia $amount ($reason). Pesa zimerudi kwenye pochi yako.",
    ),
    ("payout_failed", "email"): _email(
        "Utoaji wa pesa haukufaulu: $amount",
        "Hatukuweza kukutumia $amount ($reason). Pesa zimerudi kwenye pochi yako.",
    ),
    ("payout_failed", "sms"): (
        None,
        "Dracarys: utoaji wa $amount haukufaulu. Pesa zimerudi kwenye pochi yako.",
    ),
    ("payment_failed", "in_app"): (
        "Malipo hayakufaulu: $amount",
        "Hatukuweza kukata $amount kwa usajili wako wa ishara ($period). Ongeza pesa "
        "kwenye pochi yako ili uendelee kuupata.",
    ),
    ("payment_failed", "sms"): (
        None,
        "Dracarys: hatukuweza kukata $amount kwa ishara zako. Ongeza pesa kwenye pochi "
        "ili uendelee kuzipata.",
    ),
    # ---- account -----------------------------------------------------------------------
    ("kyc_approved", "in_app"): (
        "Utambulisho wako umethibitishwa",
        "Nyaraka zako zimekubaliwa: sasa uko katika kiwango cha uthibitisho $level.",
    ),
    ("kyc_approved", "sms"): (
        None,
        "Dracarys: utambulisho wako umethibitishwa (kiwango $level).",
    ),
    ("kyc_rejected", "in_app"): (
        "Hati ya utambulisho imekataliwa",
        "Hati yako ($doc_type) haikukubaliwa: $reason. Unaweza kupakia nyingine mpya.",
    ),
    ("kyc_rejected", "sms"): (
        None,
        "Dracarys: hati yako ya utambulisho haikukubaliwa. Angalia akaunti yako.",
    ),
    # ---- rewards -----------------------------------------------------------------------
    # The award's own title and text come from points, whole: nothing around them to say.
    ("points_awarded", "in_app"): ("$title", "$body"),
    ("tier_reached", "in_app"): (
        "Umefikia kiwango cha $tier",
        "Umepanda kutoka $previous hadi $tier. Angalia kinachofunguliwa kwenye ukurasa "
        "wako wa pointi.",
    ),
    ("tier_reached", "email"): _email(
        "Umefikia kiwango cha $tier",
        "Umepanda kutoka $previous hadi $tier. Angalia kinachofunguliwa kwenye ukurasa "
        "wako wa pointi.",
    ),
    # ---- signals -----------------------------------------------------------------------
    ("signal_published", "in_app"): (
        "Ishara mpya: $symbol $side",
        "$mentor, unayemfuata, ametoa ishara ya $side kwa $symbol.",
    ),
    ("signal_published", "email"): _email(
        "Ishara mpya: $symbol $side",
        "$mentor, unayemfuata, ametoa ishara ya $side kwa $symbol.",
    ),
    # ---- community ---------------------------------------------------------------------
    ("community_reply", "in_app"): (
        "Jibu jipya: $title",
        "@$author amejibu mada yako \u201c$title\u201d.",
    ),
    ("community_reply", "email"): _email(
        "Jibu jipya: $title",
        "@$author amejibu mada yako \u201c$title\u201d.",
    ),
    ("community_mention", "in_app"): (
        "@$author amekutaja",
        "@$author amekutaja katika \u201c$title\u201d.",
    ),
    ("community_mention", "email"): _email(
        "@$author amekutaja",
        "@$author amekutaja katika \u201c$title\u201d.",
    ),
    # ---- staff ------------------------------------------------------------------------
    ("staff_alert", "in_app"): (
        "Tahadhari: $title",
        "$summary Ithibitishe kwenye ukurasa wa tahadhari.",
    ),
    ("staff_alert", "email"): (
        "Tahadhari: $title",
        "$summary\n\nIthibitishe kwenye ukurasa wa tahadhari: $base_url/staff/alerts",
    ),
    # The moderation's own headline and reason, whole, as for points awards.
    ("community_moderation", "in_app"): ("$headline", "$reason"),
    ("community_moderation", "email"): _email("$headline", "$reason"),
    **_in_app_and_email(
        "session_rescheduled",
        "Kipindi kimehamishwa",
        "Kipindi chako sasa kinaanza $starts_at. Kiko kwenye ukurasa wa vipindi vyako.",
    ),
    **_in_app_and_email(
        "subscription_lapsed",
        "Usajili wa ishara umeisha",
        "$amount za usajili wako wa ishara ($period) hazikulipwa kwa wiki moja, kwa hiyo "
        "usajili umeisha. Unaweza kujisajili tena kwenye ukurasa wa mshauri.",
    ),
    **_in_app_and_email(
        "session_refunded",
        "Kipindi kimerejeshewa pesa: $amount",
        "$amount ulizolipia kipindi chako kilichoghairiwa zimerudishwa.",
    ),
    **_in_app_and_email(
        "refund_issued",
        "Pesa zimerejeshwa: $amount",
        "Umerejeshewa $amount. Marejesho na risiti zako ziko kwenye ukurasa wa pochi.",
    ),
    **_in_app_and_email(
        "earnings_released",
        "Mapato: $amount",
        "Umepata $amount kutokana na $purpose. Mapato yako yanaonekana kwenye ukurasa wa pochi.",
    ),
    **_in_app_and_email(
        "affiliate_commission",
        "Kamisheni: $amount",
        "Mwanachama uliyemleta amefanya malipo, na umepata kamisheni ya $amount. Italipwa "
        "muda wa kurejesha pesa ukiisha; tazama ukurasa wako wa ushirika.",
    ),
    **_in_app_and_email(
        "deposit_completed",
        "Amana imepokelewa: $amount",
        "Amana yako ya $amount kupitia $method iko kwenye pochi yako.",
    ),
    **_in_app_and_email(
        "chargeback_opened",
        "Amana ya kadi inapingwa: $amount",
        "Benki yako imepinga amana yako ya kadi ya $amount. Wakati inaamua, $held "
        "zimezuiliwa kwenye pochi yako.",
    ),
    **_in_app_and_email(
        "chargeback_won",
        "Mzozo wa kadi umefungwa: $amount ni zako",
        "Benki imeamua mzozo kuhusu amana yako ya kadi ya $amount kwa upande wetu: "
        "kizuizi kwenye pochi yako kimeondolewa.",
    ),
    **_in_app_and_email(
        "chargeback_lost",
        "Mzozo wa kadi umefungwa: $amount zimerudishwa kwenye kadi yako",
        "Benki imerudisha amana yako ya kadi ya $amount kwenye kadi yako, kwa hiyo "
        "zimetolewa kwenye pochi yako ($held zilizozuiliwa, na $unrecovered ambazo pochi "
        "haikuweza kulipa).",
    ),
    **_in_app_and_email(
        "role_changed",
        "Sasa wewe ni $role",
        "Msimamizi amebadilisha nafasi yako: sasa wewe ni $role, na unachoweza kufanya "
        "kwenye Dracarys kinabadilika pamoja nayo. Ikiwa hukutarajia hili, wasiliana na "
        "huduma kwa wateja.",
    ),
    **_in_app_and_email(
        "points_frozen",
        "Upataji wa pointi umesitishwa",
        "Tumesitisha upataji wako wa pointi tunapokagua akaunti yako, kwa hiyo pointi "
        "$points hazikuongezwa ($reason). Ikiwa unaona ni kosa, wasiliana na huduma kwa "
        "wateja au kata rufaa kwenye ukurasa wako wa pointi.",
    ),
    **_in_app_and_email(
        "points_clawed_back",
        "Pointi $points zimerudishwa",
        "Pointi $points zimeondolewa kwenye salio lako ($reason). Historia yako iko kwenye "
        "ukurasa wako wa pointi.",
    ),
    **_in_app_and_email(
        "badge_earned",
        "Umepata beji: $badge",
        "Umepata beji ya \u201c$badge\u201d. Iko kwenye ukurasa wako wa pointi, tayari "
        "kushirikiwa.",
    ),
    **_in_app_and_email(
        "certificate_granted",
        "Umepata cheti",
        "Umemaliza programu na kupata cheti $certificate_id. Mtu yeyote anaweza "
        "kukithibitisha kwenye $verification_url",
    ),
    # ---- chat -------------------------------------------------------------------------
    **_in_app_and_email(
        "chat_message",
        "Ujumbe mpya kutoka kwa $sender",
        "$sender amekutumia ujumbe. Fungua mazungumzo ili uusome na kuujibu.",
    ),
    **_in_app_and_email(
        "chat_request",
        "Ombi la ujumbe kutoka kwa $sender",
        "$sender angependa kuzungumza nawe. Kubali au kataa kwenye ukurasa wako wa ujumbe.",
    ),
}

# The daily digest of low-priority e-mails (`delivery.DIGEST`), for Swahili readers.
DIGEST_SUBJECT = "Muhtasari wako wa Dracarys: taarifa $count"
DIGEST_TEXT = (
    "Haya ndiyo yaliyotokea tangu muhtasari wako uliopita:\n\n$items\n\n"
    "Yaone yote: $base_url/notifications\n"
    "Chagua tunachokutumia: $base_url/notifications/preferences"
)
